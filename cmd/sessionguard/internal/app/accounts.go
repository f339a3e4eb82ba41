package app

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// argonCost is a cost of argon2id.
type argonCost struct {
	time, memory uint32 // passes, KiB
	threads      uint8
}

// owaspCost is OWASP's recommended minimum for argon2id: 19 MiB, 2 passes, 1
// lane. Hashes are kept in the PHC string format, parameters included, so
// that a hash is checked with the cost it was made with.
var owaspCost = argonCost{time: 2, memory: 19 * 1024, threads: 1}

// hashCost is the cost of new hashes: owaspCost, except in tests, which
// would otherwise spend most of their time hashing (see UseTestHashCost).
var hashCost = owaspCost

// UseTestHashCost makes new password hashes cheap (argon2id with 64 KiB and
// one pass), for the command's tests only: at the real cost a hash takes
// half a second under the race detector, and the tests sign in hundreds of
// times. Call it from TestMain, before any test runs; never in the command.
// Hashes are checked with the cost they record, so the real cost is
// unaffected elsewhere.
func UseTestHashCost() { hashCost = argonCost{time: 1, memory: 64, threads: 1} }

// RandomPassword returns a fresh random password (16 URL-safe characters),
// for the accounts the command generates.
func RandomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

const (
	argonKeyLen = 32
	saltLen     = 16
)

// Accounts holds the users of the reference app with their password
// hashes. It is safe for concurrent use.
type Accounts struct {
	mu     sync.RWMutex
	hashes map[string]string
	dummy  string // hash compared against for unknown users
}

// An Account is a user name and a password in clear, as given on the
// command line.
type Account struct {
	Name, Password string
}

// ParseAccount parses NAME:PASSWORD.
func ParseAccount(s string) (Account, error) {
	name, pw, ok := strings.Cut(s, ":")
	if !ok || name == "" || pw == "" {
		return Account{}, fmt.Errorf("account %q: want NAME:PASSWORD", s)
	}
	if strings.ContainsAny(name, " \t\r\n<>&\"'") || len(name) > 64 {
		return Account{}, fmt.Errorf("account %q: the name must be 1 to 64 characters without spaces or markup", name)
	}
	return Account{Name: name, Password: pw}, nil
}

// NewAccounts hashes the passwords of list.
func NewAccounts(list []Account) (*Accounts, error) {
	a := &Accounts{hashes: map[string]string{}}
	for _, acc := range list {
		if _, dup := a.hashes[acc.Name]; dup {
			return nil, fmt.Errorf("account %q given twice", acc.Name)
		}
		a.hashes[acc.Name] = hashPassword(acc.Password)
	}
	a.dummy = hashPassword("no such user")
	return a, nil
}

// Verify reports whether password is name's. An unknown name costs the same
// work as a known one, so timing does not reveal which names exist.
func (a *Accounts) Verify(name, password string) bool {
	a.mu.RLock()
	h, ok := a.hashes[name]
	a.mu.RUnlock()
	if !ok {
		checkPassword(a.dummy, password)
		return false
	}
	return checkPassword(h, password)
}

// Known reports whether name is an account. Account names are chosen
// with the accounts, so a name that is none may be anything, a password
// typed in the wrong field included: callers log only known names.
func (a *Accounts) Known(name string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	_, ok := a.hashes[name]
	return ok
}

// SetPassword replaces name's password. It fails for an unknown name.
func (a *Accounts) SetPassword(name, password string) error {
	if len(password) < 8 {
		return errors.New("the new password must have at least 8 characters")
	}
	h := hashPassword(password)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.hashes[name]; !ok {
		return fmt.Errorf("no account %q", name)
	}
	a.hashes[name] = h
	return nil
}

func hashPassword(pw string) string { return hashWith(hashCost, pw) }

func hashWith(c argonCost, pw string) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, c.time, c.memory, c.threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, c.memory, c.time, c.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

func checkPassword(encoded, pw string) bool {
	var version int
	var mem, iters uint32
	var threads uint8
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, iters, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
