package redisstore

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxKeyLen bounds the record keys the store accepts. The Manager's keys
// are 64 hex digits (SHA-256); a little room is left for a longer hash.
const maxKeyLen = 128

// validKey reports whether key has the shape of a store key: lower-case
// hex. Anything else, braces in particular, could move the key to another
// hash slot or collide with the store's own key names, so it is refused
// before Redis is asked.
func validKey(key string) bool {
	if len(key) == 0 || len(key) > maxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// recordKey is where the record (or tombstone) of key lives:
// {prefix}s:{key}. The hash tag is the key itself, so records spread over
// every slot of a cluster, and each record is one slot of its own.
func (s *Store) recordKey(key string) string {
	return s.prefix + "s:{" + key + "}"
}

// indexKey is the per-user index of userID: {prefix}u:{hex SHA-256 of
// userID}, or "" for an anonymous session, which is listed nowhere. Hashing
// keeps user IDs (which may hold braces, or be personal data) out of key
// names and makes every index key the same length.
func (s *Store) indexKey(userID string) string {
	if userID == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(userID))
	return s.prefix + "u:{" + hex.EncodeToString(sum[:]) + "}"
}

// lineagesKey is the hash beside userID's index that maps each listed
// record key to its lineage: {prefix}l:{hex SHA-256 of userID}, in the
// index's slot. "" for an anonymous session.
func (s *Store) lineagesKey(userID string) string {
	if userID == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(userID))
	return s.prefix + "l:{" + hex.EncodeToString(sum[:]) + "}"
}

// prefixHashTag reports whether prefix holds a Redis Cluster hash tag (a
// non-empty {…}), which then decides the slot of every key of the store,
// and whether its braces are well formed: at most one '{', followed by one
// '}'. A stray brace would make the slot depend on part of a record key.
func prefixHashTag(prefix string) (tagged, ok bool) {
	open, close := strings.Count(prefix, "{"), strings.Count(prefix, "}")
	switch {
	case open == 0 && close == 0:
		return false, true
	case open != 1 || close != 1:
		return false, false
	}
	i, j := strings.IndexByte(prefix, '{'), strings.IndexByte(prefix, '}')
	return j > i+1, j > i+1
}

// markKey is the hash holding userID's revocation mark: {prefix}m:{hex
// SHA-256 of userID}, in the index's slot, so that a sign-in's script
// reads it in the step that writes the record. Beside it, in the same
// slot, {prefix}r:{…} is the sorted set of the user's lineages scored by
// last use (server microseconds); the scripts derive it from the index
// key. Each lineage's indexed record keys (",k1,k2,") are in the lineages
// hash, under "g:LINEAGE" (an earlier version kept them in a hash of their
// own, {prefix}g:{…}, which the scripts still read).
func (s *Store) markKey(userID string) string {
	sum := sha256.Sum256([]byte(userID))
	return s.prefix + "m:{" + hex.EncodeToString(sum[:]) + "}"
}
