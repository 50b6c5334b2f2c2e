//go:build windows

package client

import "context"

// watchResize sends the initial size; Windows consoles have no SIGWINCH,
// so later size changes are not forwarded.
func watchResize(ctx context.Context, resize func()) {
	resize()
}
