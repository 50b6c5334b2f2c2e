// Package agent serves berth's one API, the ttrpc services in proto/agent/v1,
// on a listener whose connections each start with a stream header
// (proto/stream): ttrpc connections go to the ttrpc server, raw data streams
// to the call waiting for them. The services are thin: they validate input and
// delegate to guest/image, guest/snapshot and the other engine packages, and
// turn errdefs errors into status codes at the boundary.
package agent
