package container

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
)

// ExecUser is a resolved user: what the container process runs as.
type ExecUser struct {
	UID            uint32
	GID            uint32
	AdditionalGids []uint32
	Home           string
}

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// ResolveUser resolves spec ("name", "uid", "name:group", "uid:gid", or ""
// for root) against rootfs/etc/passwd and rootfs/etc/group (read through
// securejoin, so symlinks cannot escape the rootfs), plus the extra groups
// in groupAdd, the way docker does.
func ResolveUser(rootfs, spec string, groupAdd []string) (ExecUser, error) {
	users, err := readPasswd(rootfs)
	if err != nil {
		return ExecUser{}, err
	}
	groups, err := readGroup(rootfs)
	if err != nil {
		return ExecUser{}, err
	}
	return resolveUser(users, groups, spec, groupAdd)
}

func resolveUser(users []passwdEntry, groups []groupEntry, spec string, groupAdd []string) (ExecUser, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	u := ExecUser{Home: "/"}
	var name string
	if userPart == "" {
		userPart = "0"
	}
	if pw, ok := findUser(users, userPart); ok {
		u.UID, u.GID, u.Home, name = pw.uid, pw.gid, pw.home, pw.name
	} else if n, err := parseID(userPart); err == nil {
		u.UID = n
	} else {
		return ExecUser{}, fmt.Errorf("unable to find user %s: no matching entries in passwd file: %w", userPart, errdefs.ErrInvalidArgument)
	}
	if hasGroup {
		gid, err := lookupGroup(groups, groupPart)
		if err != nil {
			return ExecUser{}, err
		}
		u.GID = gid
	} else if name != "" {
		for _, g := range groups {
			if g.gid != u.GID && contains(g.members, name) {
				u.AdditionalGids = append(u.AdditionalGids, g.gid)
			}
		}
	}
	for _, ga := range groupAdd {
		gid, err := lookupGroup(groups, ga)
		if err != nil {
			return ExecUser{}, err
		}
		u.AdditionalGids = append(u.AdditionalGids, gid)
	}
	return u, nil
}

func findUser(users []passwdEntry, s string) (passwdEntry, bool) {
	for _, pw := range users {
		if pw.name == s {
			return pw, true
		}
	}
	if n, err := parseID(s); err == nil {
		for _, pw := range users {
			if pw.uid == n {
				return pw, true
			}
		}
	}
	return passwdEntry{}, false
}

func lookupGroup(groups []groupEntry, s string) (uint32, error) {
	for _, g := range groups {
		if g.name == s {
			return g.gid, nil
		}
	}
	if n, err := parseID(s); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("unable to find group %s: no matching entries in group file: %w", s, errdefs.ErrInvalidArgument)
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// openInRoot opens rel inside root without following symlinks out of it.
// A missing file yields (nil, nil): images without /etc/passwd are valid.
func openInRoot(root, rel string) (io.ReadCloser, error) {
	p, err := securejoin.SecureJoin(root, rel)
	if err != nil {
		return nil, fmt.Errorf("resolve %s in rootfs: %w", rel, err)
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return f, err
}

func readPasswd(root string) ([]passwdEntry, error) {
	var out []passwdEntry
	err := readColonFile(root, "/etc/passwd", func(f []string) {
		if len(f) < 6 {
			return
		}
		uid, err1 := parseID(f[2])
		gid, err2 := parseID(f[3])
		if err1 == nil && err2 == nil {
			out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid, home: f[5]})
		}
	})
	return out, err
}

func readGroup(root string) ([]groupEntry, error) {
	var out []groupEntry
	err := readColonFile(root, "/etc/group", func(f []string) {
		if len(f) < 3 {
			return
		}
		gid, err := parseID(f[2])
		if err != nil {
			return
		}
		g := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
	})
	return out, err
}

func readColonFile(root, rel string, fn func([]string)) error {
	f, err := openInRoot(root, rel)
	if err != nil || f == nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fn(strings.Split(line, ":"))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", rel, err)
	}
	return nil
}
