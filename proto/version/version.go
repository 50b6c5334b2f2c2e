// Package version holds berth's version, set at build time with -ldflags,
// and the API version both sides speak.
package version

// Version is berth's release version ("v0.3.1", or "dev" for local builds).
var Version = "dev"

// APIVersion is the version of the agent API in proto/agent/v1.
const APIVersion = "1.0"
