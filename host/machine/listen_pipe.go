package machine

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// pipePrefix starts every machine daemon's named pipe on Windows.
const pipePrefix = `\\.\pipe\berth-`

// PipeName is the named pipe the daemon of machine name listens on under
// Windows, where storeDir is the machine store (BERTH_HOME\machines):
// \\.\pipe\berth-<hash>-<name>. The hash (12 hex digits of SHA-256) is of
// the store dir as Windows compares paths (case-insensitive, either slash,
// no trailing separator), so two BERTH_HOMEs never share a pipe, and the
// same home spelled differently gets the same one. It is pure, so that it
// is tested on every OS.
func PipeName(storeDir, name string) string {
	d := strings.ToLower(strings.ReplaceAll(storeDir, "/", `\`))
	if len(d) > 3 || !strings.HasSuffix(d, `:\`) { // keep the separator of a drive root
		d = strings.TrimRight(d, `\`)
	}
	sum := sha256.Sum256([]byte(d))
	return pipePrefix + hex.EncodeToString(sum[:6]) + "-" + name
}
