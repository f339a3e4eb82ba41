package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/store"
)

// SignIn implements [store.Store.SignIn]. In the single-slot layout it is
// one atomic script and one round trip, whether or not the user is at the
// bound: the script reads the server's clock (TIME), checks the user's
// revocation mark against the request's start, writes the record, ends
// the old one, and ends the least recently used lineages past in.Limit,
// reading only those (see the package documentation). In the sharded
// layout it is the ordered steps of the package documentation ("Sign-in
// on a sharded cluster"): two round trips, two more past the bound.
func (s *Store) SignIn(ctx context.Context, in *store.SignIn) (store.SignedIn, error) {
	if err := checkSignIn(in); err != nil {
		return store.SignedIn{}, err
	}
	back := max(in.Elapsed, 0) + store.SignInMargin
	if back >= store.MarkTTL {
		return store.SignedIn{}, store.RevokedSince(store.ReasonNone)
	}
	rec := in.Record
	if in.OldKey != "" && !validKey(in.OldKey) {
		return store.SignedIn{}, store.ErrNotFound
	}
	w, err := s.write(rec, 1)
	if err != nil {
		return store.SignedIn{}, err
	}
	sg := signing{in: in, w: w, now: time.Now(), back: back.Microseconds()}
	if in.Own != nil {
		sg.own = strconv.FormatInt(in.Own.Mark.UnixMicro(), 10)
		if !in.Own.Prior.IsZero() {
			sg.prior = strconv.FormatInt(in.Own.Prior.UnixMicro(), 10)
		}
	}
	var out store.SignedIn
	if s.sharded {
		out, err = s.signInSharded(ctx, &sg)
	} else {
		out, err = s.signInSingle(ctx, &sg)
	}
	if err != nil {
		return store.SignedIn{}, err
	}
	rec.Version = 1
	return out, nil
}

// signing is a sign-in on its way: the call, the record as stored, the
// application's clock, Elapsed+SignInMargin in microseconds, and the own
// revocation's mark and prior in microseconds ("" when none).
type signing struct {
	in         *store.SignIn
	w          written
	now        time.Time
	back       int64
	own, prior string
}

func checkSignIn(in *store.SignIn) error {
	switch {
	case in == nil || in.Record == nil:
		return errors.New("redisstore: sign in: no record")
	case in.Record.UserID == "":
		return errors.New("redisstore: sign in: an anonymous record (use Create)")
	case !validKey(in.Record.Key):
		return fmt.Errorf("%w: sign in %q", errBadKey, in.Record.Key)
	}
	return nil
}

// signInSingle runs signInScript.
func (s *Store) signInSingle(ctx context.Context, sg *signing) (store.SignedIn, error) {
	in, w := sg.in, sg.w
	keys := []string{s.recordKey(w.key), w.index, w.lineages, s.markKey(in.Record.UserID)}
	if in.OldKey != "" {
		keys = append(keys, s.recordKey(in.OldKey))
	}
	// The rollback watch's counter is bumped by the script itself, in the
	// step that ends sessions and only when it ends one: a sign-in that
	// ends none (a user's first) sends no INCR.
	counter := ""
	if s.guard != nil {
		counter = s.guard.counter
	}
	args := []any{ms(sg.now), w.data, w.expires, w.index, w.score, w.key, w.lineage, sg.back,
		sg.own, sg.prior, in.OldVersion, s.floor(store.ReasonRenewed, sg.now),
		max(in.Limit, 0), int(in.LimitReason), s.floor(in.LimitReason, sg.now), s.prefix, in.OldKey, counter}
	var cmd *redis.Cmd
	if in.OldKey != "" || in.Limit > 0 {
		cmd = s.evalEndingWith(ctx, false, signInScript, keys, args...) // it may end sessions: waited for
	} else {
		cmd = s.eval(ctx, signInScript, keys, args...)
	}
	reply, err := cmd.Result()
	if err != nil && !errors.Is(err, ErrNotReplicated) {
		return store.SignedIn{}, s.fail("sign in", err)
	}
	out, bumped, perr := signedIn(reply)
	if bumped && s.guard != nil {
		// The bump landed with the write: it counts, whether or not the
		// replicas acknowledged it.
		s.guard.acknowledged()
	}
	if err != nil {
		return store.SignedIn{}, s.fail("sign in", err)
	}
	return out, perr
}

// signedIn reads a sign-in script's reply: a status, or {0, lineages
// left, 1 if it bumped the rollback counter else 0, ended lineage...}.
func signedIn(reply any) (out store.SignedIn, bumped bool, err error) {
	if code, ok := reply.(int64); ok {
		return store.SignedIn{}, false, signInErr(code)
	}
	r, ok := reply.([]any)
	if !ok || len(r) < 3 {
		return store.SignedIn{}, false, errBadReply
	}
	n, ok1 := r[1].(int64)
	b, ok2 := r[2].(int64)
	if !ok1 || !ok2 {
		return store.SignedIn{}, false, errBadReply
	}
	out = store.SignedIn{Sessions: int(n)}
	for _, v := range r[3:] {
		out.Ended = append(out.Ended, str(v))
	}
	return out, b == 1, nil
}

// signInErr is statusErr with the sign-in's refusal.
func signInErr(code int64) error {
	if code >= stRevoked && code < stRevoked+256 {
		return store.RevokedSince(store.Reason(code - stRevoked))
	}
	if code == stOK {
		return errBadReply
	}
	return statusErr(code)
}

// signInSharded is the sign-in on the sharded layout, whose record keys
// are in other slots than the user's: (1) in the user's slot, the mark's
// check and the new record's index entries, which a revocation from then
// on selects; (2) the old record's retirement, in its slot, and (3) the
// new record, which a revocation that selected its entry meanwhile has
// preempted, in one pipeline; (4) when the first step found the user over the bound, the
// choice of the lineages to end, marked as a revocation's selection is;
// (5) their records' tombstones, in one pipeline.
func (s *Store) signInSharded(ctx context.Context, sg *signing) (store.SignedIn, error) {
	in, w := sg.in, sg.w
	member := w.key
	if in.OldKey == w.key || w.expires <= ms(sg.now) {
		member = "" // the marks only: nothing will be indexed
	}
	// The new key's fields come in the same round trip, so that a taken
	// key fails before the old record is retired.
	reg := &scriptCall{script: signInRegisterScript, keys: []string{w.index, w.lineages, s.markKey(in.Record.UserID)},
		args: []any{ms(sg.now), member, w.score, w.lineage, in.OldKey, sg.back, sg.own, sg.prior}}
	taken := &scriptCall{script: fieldsScript, keys: []string{s.recordKey(w.key)}, args: []any{"t", "v", "e"}}
	s.evalAll(ctx, []*scriptCall{reg, taken})
	reply, err := reg.cmd.Result()
	if err != nil {
		return store.SignedIn{}, s.fail("sign in: index", err)
	}
	if code, ok := reply.(int64); ok {
		return store.SignedIn{}, signInErr(code)
	}
	r, ok := reply.([]any)
	if !ok || len(r) != 4 {
		return store.SignedIn{}, s.fail("sign in: index", errBadReply)
	}
	n, _ := r[1].(int64)
	start := str(r[2])
	added := r[3] == int64(1)
	f, err := taken.cmd.Slice()
	if err == nil && len(f) != 3 {
		err = errBadReply
	}
	if err == nil && (f[0] != nil || (f[1] != nil && str(f[2]) > "" && !expiredAt(str(f[2]), sg.now))) {
		err = store.ErrExists
	}
	if err == nil && in.OldKey == w.key {
		err = store.ErrExists
	}
	if err != nil {
		if added {
			_ = s.eval(ctx, unregisterScript, []string{w.index, w.lineages}, w.key).Err()
		}
		return store.SignedIn{}, s.failOr("sign in: new key", err)
	}
	if err := s.signInWrite(ctx, sg, added); err != nil {
		return store.SignedIn{}, err
	}
	if member == "" {
		return store.SignedIn{Sessions: int(n)}, nil
	}
	if in.Limit <= 0 || int(n) <= in.Limit {
		return store.SignedIn{Sessions: int(n)}, nil
	}
	return s.boundSharded(ctx, sg, start)
}

// signInWrite is steps (2) and (3) of signInSharded, in one pipeline: the
// new key was found free in step (1). If the old record cannot be
// retired, the new record, which no client has seen, is ended and its
// entry taken back; if the new record cannot be made, the entry is taken
// back (unless a revocation selected it meanwhile) and the old record
// stays retired: the sign-in failed.
func (s *Store) signInWrite(ctx context.Context, sg *signing, indexed bool) error {
	in, w := sg.in, sg.w
	create := &scriptCall{script: createScript, keys: []string{s.recordKey(w.key)},
		args: []any{ms(sg.now), w.data, w.expires, w.index, w.score, w.key, w.lineage}}
	calls := []*scriptCall{create}
	if indexed {
		calls = append(calls, &scriptCall{script: settleScript, keys: []string{w.index}, args: []any{w.key}})
	}
	var retire *scriptCall
	if in.OldKey != "" {
		retire = &scriptCall{script: retireScript, keys: []string{s.recordKey(in.OldKey)},
			args: []any{ms(sg.now), in.OldVersion, s.floor(store.ReasonRenewed, sg.now), "", w.key, in.OldVersion + 1, w.index}}
		calls = append(calls, retire)
	}
	s.evalAll(ctx, calls)
	code, err := create.cmd.Int64()
	switch {
	case err != nil:
	case code >= stPreempted:
		err = store.Gone(store.Reason(code - stPreempted))
	default:
		err = statusErr(code)
	}
	var retireErr error
	if retire != nil {
		var rc int64
		if rc, retireErr = retire.cmd.Int64(); retireErr == nil {
			retireErr = statusErr(rc)
		}
	}
	if err == nil && retireErr == nil {
		return nil
	}
	var undo []*scriptCall
	if err == nil {
		undo = append(undo, &scriptCall{script: deleteScript, keys: []string{s.recordKey(w.key)},
			args: []any{ms(sg.now), int(store.ReasonRenewed), s.floor(store.ReasonRenewed, sg.now)}})
	}
	if indexed {
		undo = append(undo, &scriptCall{script: unregisterScript, keys: []string{w.index, w.lineages}, args: []any{w.key}})
	}
	// Failing that, the new record's token never left: it ends at its
	// Expires, and its entry names no live record once it is ended.
	s.evalAll(ctx, undo)
	if retireErr != nil {
		return s.failOr("sign in: retire", retireErr)
	}
	return s.failOr("sign in: create", err)
}

// boundSharded is steps (4) and (5) of signInSharded. A lineage is
// reported ended when one of its records was live.
func (s *Store) boundSharded(ctx context.Context, sg *signing, start string) (store.SignedIn, error) {
	in, w := sg.in, sg.w
	r, err := s.eval(ctx, boundScript, []string{w.index, w.lineages}, in.Limit, start, int(in.LimitReason)).Slice()
	if err != nil {
		return store.SignedIn{}, s.fail("sign in: bound", err)
	}
	if len(r) < 1 {
		return store.SignedIn{}, s.fail("sign in: bound", errBadReply)
	}
	n, _ := r[0].(int64)
	out := store.SignedIn{Sessions: int(n)}
	type victim struct {
		lineage string
		calls   []*scriptCall
	}
	var victims []victim
	var calls []*scriptCall
	for j := 1; j+1 < len(r); {
		v := victim{lineage: str(r[j])}
		count, _ := r[j+1].(int64)
		j += 2
		for k := int64(0); k < count && j+1 < len(r); k++ {
			m := str(r[j])
			if validKey(m) {
				c := &scriptCall{script: endScript, keys: []string{s.recordKey(m)},
					args: []any{ms(sg.now), int(in.LimitReason), s.floor(in.LimitReason, sg.now), str(r[j+1]), w.index}}
				v.calls = append(v.calls, c)
				calls = append(calls, c)
			}
			j += 2
		}
		victims = append(victims, v)
	}
	s.evalAll(ctx, calls)
	var errs []error
	for _, v := range victims {
		live := false
		for _, c := range v.calls {
			switch res, err := c.cmd.Result(); {
			case err != nil:
				errs = append(errs, err)
			case res == int64(0):
			default:
				live = true // 1, or the key of a renewal it caught
			}
		}
		if live {
			out.Ended = append(out.Ended, v.lineage)
		}
	}
	if len(errs) > 0 {
		// The records left are selected: they can be neither rotated nor
		// listed, and the next ListUser or revocation tombstones them.
		return store.SignedIn{}, s.fail("sign in: bound", errors.Join(errs...))
	}
	return out, nil
}

// expiredAt reports whether a record whose e field is e (Unix ms) is past
// its Expires at now.
func expiredAt(e string, now time.Time) bool {
	n, err := strconv.ParseInt(e, 10, 64)
	return err == nil && n <= ms(now)
}
