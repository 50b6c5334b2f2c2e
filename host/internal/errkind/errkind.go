// Package errkind makes errors whose message is a clean sentence for the user
// while errors.Is still finds their errdefs kind: errkind.New(errdefs.ErrNotFound,
// "machine %q does not exist; ...") prints without a trailing ": not found".
package errkind

import "fmt"

type kindError struct {
	kind error
	err  error // the formatted error, wrapping whatever its %w named
}

func (e *kindError) Error() string { return e.err.Error() }

// Unwrap returns the kind and the formatted error, so errors.Is and
// errors.As see the kind and any cause the format wrapped.
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// New returns an error with the formatted message (fmt.Errorf rules,
// including %w) that also matches kind with errors.Is.
func New(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}
