// Package errkind makes errors whose message is a clean sentence for the user
// while errors.Is still finds their errdefs kind: errkind.New(errdefs.ErrNotFound,
// "machine %q does not exist; ...") prints without a trailing ": not found".
package errkind

import "fmt"

type kindError struct {
	msg  string
	kind error
	err  error // wrapped cause, if the format had a %w
}

func (e *kindError) Error() string { return e.msg }

// Unwrap returns the kind and the cause, so errors.Is and errors.As see both.
func (e *kindError) Unwrap() []error {
	if e.err != nil {
		return []error{e.kind, e.err}
	}
	return []error{e.kind}
}

// New returns an error with the formatted message (fmt.Errorf rules,
// including %w) that also matches kind with errors.Is.
func New(kind error, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &kindError{msg: err.Error(), kind: kind, err: unwrapped(err)}
}

func unwrapped(err error) error {
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return u.Unwrap()
	case interface{ Unwrap() []error }:
		return err
	}
	return nil
}
