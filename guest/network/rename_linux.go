package network

import (
	"context"
	"fmt"
)

// Rename gives the container's endpoints on every network a new name, so
// that the embedded DNS servers answer for the new name and no longer for
// the old one (docker's rename). Aliases, ids and addresses stay.
func (m *Manager) Rename(ctx context.Context, containerID, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkOpen(); err != nil {
		return err
	}
	for _, n := range m.nets {
		ep := n.Endpoints[containerID]
		if ep == nil || ep.Name == name {
			continue
		}
		old := ep.Name
		ep.Name = name
		if err := m.st.put(n); err != nil {
			ep.Name = old
			return fmt.Errorf("rename container %s on network %s: %w", shortID(containerID), n.Name, err)
		}
		m.refreshDNS(n)
		logger(ctx).WithField("network", n.Name).WithField("container", shortID(containerID)).Debugf("endpoint renamed %s -> %s", old, name)
	}
	return nil
}
