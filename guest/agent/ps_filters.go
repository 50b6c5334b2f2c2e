//go:build linux

package agent

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	ntypes "github.com/moby/moby/api/types/network"

	"github.com/berth-dev/berth/guest/container"
	"github.com/berth-dev/berth/guest/image"
)

// psFilterKeys are the ps filters docker accepts (isolation only matters
// on Windows: every Linux container has the "default" isolation).
var psFilterKeys = map[string]bool{
	"ancestor": true, "before": true, "exited": true, "health": true, "id": true, "isolation": true,
	"is-task": true, "label": true, "name": true, "network": true, "since": true, "status": true, "volume": true,
	"publish": true, "expose": true,
}

// listWindow is docker's before= and since= filters: with the containers
// sorted newest first, those up to and including before are left out, and
// the listing stops at since.
type listWindow struct {
	before, since string // container ids
}

// listWindow resolves the before and since filters (a name, an id or a
// unique id prefix; the last value of each counts, as in docker).
func (e *engine) listWindow(filters []string) (*listWindow, error) {
	w := &listWindow{}
	for _, f := range filters {
		k, v, _ := strings.Cut(f, "=")
		if k != "before" && k != "since" {
			continue
		}
		r, err := e.store.get(strings.TrimPrefix(v, "/"))
		if err != nil {
			return nil, err
		}
		if k == "before" {
			w.before = r.ID
		} else {
			w.since = r.ID
		}
	}
	return w, nil
}

// step tells whether r, the next container newest first, is inside the
// window, and whether the listing stops here.
func (w *listWindow) step(r *record) (include, stop bool) {
	if w.before != "" {
		if r.ID == w.before {
			w.before = ""
		}
		return false, false
	}
	if w.since != "" && r.ID == w.since {
		return false, true
	}
	return true, false
}

// listFilter turns docker's ps filters into a predicate. Values of the same
// key are alternatives; different keys must all match. before and since
// are listWindow's.
func (e *engine) listFilter(filters []string) (func(listed) bool, error) {
	by := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, newKindError(errdefs.ErrInvalidArgument, "bad format of filter (expected name=value): %s", f)
		}
		if !psFilterKeys[k] {
			return nil, newKindError(errdefs.ErrInvalidArgument, "invalid filter '%s'", k)
		}
		if err := validatePsFilter(k, v); err != nil {
			return nil, err
		}
		if k != "before" && k != "since" {
			by[k] = append(by[k], v)
		}
	}
	ancestors := map[string]bool{}
	for _, a := range by["ancestor"] {
		if img, err := e.images.Get(context.Background(), a); err == nil {
			ancestors[img.ID] = true
		}
	}
	return func(l listed) bool {
		for k, vals := range by {
			ok := false
			for _, v := range vals {
				if matchOne(l, k, v, ancestors) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
		return true
	}, nil
}

// validatePsFilter rejects values docker rejects, with its messages.
func validatePsFilter(k, v string) error {
	switch k {
	case "status":
		switch v {
		case "created", "restarting", "running", "removing", "paused", "exited", "dead":
			return nil
		}
		return newKindError(errdefs.ErrInvalidArgument, "invalid filter 'status=%s'", v)
	case "exited":
		if _, err := strconv.Atoi(v); err != nil {
			return newKindError(errdefs.ErrInvalidArgument, "invalid filter 'exited=%s': expected an exit code", v)
		}
	case "health":
		switch v {
		case "starting", "healthy", "unhealthy", "none":
			return nil
		}
		return newKindError(errdefs.ErrInvalidArgument, "Unrecognised filter value for health: %s", v)
	case "is-task":
		if v != "true" && v != "false" {
			return newKindError(errdefs.ErrInvalidArgument, "invalid filter 'is-task=%s'", v)
		}
	case "publish", "expose":
		if strings.Contains(v, ":") {
			return newKindError(errdefs.ErrInvalidArgument, "filter for '%s' should not contain ':': %s", k, v)
		}
		if _, err := ntypes.ParsePortRange(v); err != nil {
			return newKindError(errdefs.ErrInvalidArgument, "error while looking up for %s %s: %v", k, v, err)
		}
	}
	return nil
}

// matchPorts is docker's publish= (host ports: only those given with -p;
// ports the forwarder picks are not known here) and expose= (container
// ports, exposed or published) filters; v is a port or range[/proto].
func matchPorts(r *record, k, v string) bool {
	pr, err := ntypes.ParsePortRange(v)
	if err != nil {
		return false
	}
	in := func(n uint16, proto ntypes.IPProtocol) bool {
		return proto == pr.Proto() && n >= pr.Start() && n <= pr.End()
	}
	for p, bs := range r.HostConfig.PortBindings {
		if k == "expose" && in(p.Num(), p.Proto()) {
			return true
		}
		for _, b := range bs {
			if hp, err := strconv.ParseUint(b.HostPort, 10, 16); k == "publish" && err == nil && in(uint16(hp), p.Proto()) {
				return true
			}
		}
	}
	for p := range r.Config.ExposedPorts {
		if k == "expose" && in(p.Num(), p.Proto()) {
			return true
		}
	}
	return false
}

func matchOne(l listed, k, v string, ancestors map[string]bool) bool {
	r := l.r
	switch k {
	case "status":
		return string(l.st.Status) == v
	case "name":
		// docker matches names as regular expressions, with and without
		// the leading "/"; an invalid one matches nothing.
		re, err := regexp.Compile(v)
		return err == nil && (re.MatchString(r.Name) || re.MatchString("/"+r.Name))
	case "id":
		return strings.HasPrefix(r.ID, v)
	case "label":
		lk, lv, has := strings.Cut(v, "=")
		got, ok := r.Config.Labels[lk]
		return ok && (!has || got == lv)
	case "ancestor":
		return ancestors[r.ImageID] || r.Image == v || image.FamiliarString(r.Image) == v
	case "exited":
		return l.st.Status == container.StatusExited && strconv.Itoa(l.st.ExitCode) == v
	case "health":
		return v == "none" // the engine runs no health checks
	case "is-task":
		return v == "false" // no swarm: no container is a task
	case "isolation":
		return v == "default"
	case "network":
		return onNetwork(r, v)
	case "publish", "expose":
		return matchPorts(r, k, v)
	case "volume":
		for _, m := range r.Mounts {
			if m.Name == v || m.Destination == v || m.Source == v {
				return true
			}
		}
	}
	return false
}

// onNetwork reports whether r is connected to the network named v or whose
// id starts with v (docker's network= filter).
func onNetwork(r *record, v string) bool {
	for n, es := range r.Networks {
		if n == v || (es != nil && es.NetworkID != "" && strings.HasPrefix(es.NetworkID, v)) {
			return true
		}
	}
	return false
}
