// Package cliflag holds the flag types and the message style shared by the
// sessionguard commands: one type for enumerated flags, and errors printed
// as "sessionguard: error: …" followed by "sessionguard: hint: …".
package cliflag

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Choice is a string flag limited to a fixed set of values, matched without
// regard to case. Its zero value accepts nothing; build one with NewChoice.
type Choice struct {
	value   string
	choices []string
}

// NewChoice returns a Choice with the given default, which must be one of
// choices.
func NewChoice(def string, choices ...string) *Choice {
	return &Choice{value: def, choices: choices}
}

// String returns the current value.
func (c *Choice) String() string {
	if c == nil {
		return ""
	}
	return c.value
}

// Value returns the current value.
func (c *Choice) Value() string { return c.value }

// Set implements [flag.Value].
func (c *Choice) Set(v string) error {
	for _, ch := range c.choices {
		if strings.EqualFold(v, ch) {
			c.value = ch
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(c.choices, ", "))
}

// Choices returns the accepted values.
func (c *Choice) Choices() []string { return append([]string(nil), c.choices...) }

// Errorf prints "sessionguard: error: …" to w, and one
// "sessionguard: hint: …" line for each hint.
func Errorf(w io.Writer, hints []string, format string, args ...any) {
	fmt.Fprintf(w, "sessionguard: error: "+format+"\n", args...)
	for _, h := range hints {
		fmt.Fprintf(w, "sessionguard: hint: %s\n", h)
	}
}

// Parse parses args with fs. On -h or --help it prints fs's usage to stdout
// and returns done=true with exit status 0; on a bad flag it prints the
// error in the house style to stderr and returns done=true with status 2.
// Otherwise it returns done=false and the caller goes on.
func Parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (done bool, code int) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if err == nil {
		fs.SetOutput(stderr)
		return false, 0
	}
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return true, 0
	}
	Errorf(stderr, []string{fmt.Sprintf("run 'sessionguard %s -h' for the flags", fs.Name())}, "%v", err)
	return true, 2
}
