package boltstore

import (
	"encoding/binary"
	"math"
	"time"
)

// The file holds ten top-level buckets. Every write keeps them in step
// inside one bbolt transaction, so a crash leaves either all of a change or
// none of it.
var (
	// bucketMeta holds keyFormat, which names the layout below. Open refuses
	// a file whose format it does not know, and a bbolt file that is not a
	// session store at all.
	bucketMeta = []byte("meta")
	// bucketRecords maps a store key to store.Record.MarshalBinary.
	bucketRecords = []byte("records")
	// bucketTombstones maps the key of a deleted or rotated-away record to
	// the stamp until which the key stays dead.
	bucketTombstones = []byte("tombstones")
	// bucketUsers indexes signed-in records by user: userKey(userID, key)
	// maps to an empty value. Anonymous records are not indexed.
	bucketUsers = []byte("users")
	// bucketExpiry indexes records by their Expires time: expiryKey maps to
	// an empty value, so the sweeper reads only what has expired.
	bucketExpiry = []byte("expiry")
	// bucketTombExpiry indexes tombstones by their end the same way.
	bucketTombExpiry = []byte("tombstone-expiry")

	// bucketLineages holds each signed-in lineage's last use:
	// lineageKey(userID, lineage) maps to the stamp of the store's clock
	// at the latest write of one of its records.
	bucketLineages = []byte("lineages")
	// bucketLineageUse orders a user's lineages by last use:
	// useKey(userID, stamp, lineage) maps to an empty value, so that the
	// bound on a user's sessions reads the least recently used first.
	bucketLineageUse = []byte("lineage-use")
	// bucketLineageKeys lists the records of each lineage:
	// lineageRecordKey(userID, lineage, key) maps to an empty value.
	bucketLineageKeys = []byte("lineage-keys")
	// bucketMarks holds each user's latest revocation mark: userID maps
	// to the mark's stamp and the revocation's reason (one byte).
	bucketMarks = []byte("marks")

	keyFormat = []byte("format")
	// formatV1 has the first six buckets; formatV2 adds the lineage
	// buckets and the marks. Open upgrades a V1 file in place.
	formatV1 = []byte("sessionguard-boltstore/1")
	formatV2 = []byte("sessionguard-boltstore/2")
)

// dataBuckets are created with the file, after bucketMeta.
var dataBuckets = [][]byte{bucketRecords, bucketTombstones, bucketUsers, bucketExpiry, bucketTombExpiry,
	bucketLineages, bucketLineageUse, bucketLineageKeys, bucketMarks}

// stampSize is the length of an encoded stamp.
const stampSize = 8

// stamp is the instant t as the index orders it: Unix nanoseconds, the zero
// time first. It mirrors store.Record.MarshalBinary, which keeps a time as
// its UnixNano, so that the stamp of a stored record's Expires is the stamp
// it was indexed under.
func stamp(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// appendStamp appends n big-endian with the sign bit flipped, so that byte
// order is time order, before 1970 included.
func appendStamp(b []byte, n int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(n)^(1<<63))
}

// readStamp decodes what appendStamp wrote; b holds at least stampSize bytes.
func readStamp(b []byte) int64 {
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
}

// expiryKey is an entry of bucketExpiry or bucketTombExpiry: the stamp, then
// the store key.
func expiryKey(n int64, key string) []byte {
	b := make([]byte, 0, stampSize+len(key))
	b = appendStamp(b, n)
	return append(b, key...)
}

// userPrefix starts every bucketUsers entry of userID. The length comes
// first so that no user's prefix is a prefix of another's ("al" and "alice",
// or user IDs holding any byte at all).
func userPrefix(userID string) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(userID)+64)
	b = binary.AppendUvarint(b, uint64(len(userID)))
	return append(b, userID...)
}

// userKey is the bucketUsers entry of the record key owned by userID.
func userKey(userID, key string) []byte {
	return append(userPrefix(userID), key...)
}

// lineageKey is the bucketLineages entry of userID's lineage: the user's
// prefix, then the lineage key.
func lineageKey(userID, lineage string) []byte {
	return append(userPrefix(userID), lineage...)
}

// lineagePrefix starts the bucketLineageKeys entries of userID's lineage:
// the lineage's length comes first, as the user's does.
func lineagePrefix(userID, lineage string) []byte {
	b := binary.AppendUvarint(userPrefix(userID), uint64(len(lineage)))
	return append(b, lineage...)
}

// lineageRecordKey is the bucketLineageKeys entry of the record key in
// userID's lineage.
func lineageRecordKey(userID, lineage, key string) []byte {
	return append(lineagePrefix(userID, lineage), key...)
}

// useKey is the bucketLineageUse entry of userID's lineage last used at
// the stamp used.
func useKey(userID string, used int64, lineage string) []byte {
	b := appendStamp(userPrefix(userID), used)
	return append(b, lineage...)
}
