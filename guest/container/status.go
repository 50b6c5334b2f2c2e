package container

// Status is a container's state, named as docker names them.
type Status string

// Container states.
const (
	StatusCreated    Status = "created"
	StatusRunning    Status = "running"
	StatusPaused     Status = "paused"
	StatusRestarting Status = "restarting"
	StatusExited     Status = "exited"
	StatusDead       Status = "dead"
)
