package commands

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidCommand is wrapped by every ValidationError, so errors.Is(err, ErrInvalidCommand)
// tells a declaration mistake from a REST failure.
var ErrInvalidCommand = errors.New("commands: invalid command declaration")

// ValidationError says which declaration breaks which of Discord's rules. Register, Commands
// and Sync return them (joined with errors.Join when there are several) before anything is
// sent to Discord.
type ValidationError struct {
	// Type is the Go type the problem comes from, e.g. "main.Ban"; empty for a group declared
	// with Group.
	Type string
	// Field is the Go field name, or "" when the problem is with the command itself.
	Field string
	// Path is the command path as users type it, e.g. "admin ban", plus the option name.
	Path string
	// Problem says what is wrong and what Discord requires.
	Problem string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("commands: ")
	switch {
	case e.Type != "" && e.Field != "":
		b.WriteString(e.Type + "." + e.Field)
	case e.Type != "":
		b.WriteString(e.Type)
	}
	if e.Path != "" {
		if e.Type != "" {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "(/%s)", e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	return b.String()
}

// Is makes errors.Is(err, ErrInvalidCommand) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidCommand }

// UserError is an error whose text is meant for the person who ran the command. When a handler
// returns one (possibly wrapped), its message is shown to the user; any other error is logged
// and the user sees a generic apology, so internal details never leak into Discord.
type UserError struct{ Msg string }

func (e *UserError) Error() string { return e.Msg }

// Errorf returns a *UserError with a formatted message.
func Errorf(format string, args ...any) error {
	return &UserError{Msg: fmt.Sprintf(format, args...)}
}

// OptionError reports an option value that could not be decoded into its Go field. The user
// sees its message.
type OptionError struct {
	Option string
	Err    error
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("option %q: %v", e.Option, e.Err)
}

func (e *OptionError) Unwrap() error { return e.Err }

// PanicError is what a handler that panicked returns from Handle.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("commands: handler panicked: %v", e.Value) }
