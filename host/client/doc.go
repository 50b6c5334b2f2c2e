// Package client is the berth CLI: one cobra command per file, each a thin
// RunE over the agent API, with docker's verbs, flags, output and exit codes.
package client
