//go:build windows

package hcs

import (
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// A small binding to the documented HCS API in computecore.dll
// (https://learn.microsoft.com/virtualization/api/hcs/reference/apioverview).
// Every call is synchronous: berth creates an operation, starts the call and
// waits for its result.

var (
	computecore                = windows.NewLazySystemDLL("computecore.dll")
	procCreateOperation        = computecore.NewProc("HcsCreateOperation")
	procCloseOperation         = computecore.NewProc("HcsCloseOperation")
	procWaitForOperationResult = computecore.NewProc("HcsWaitForOperationResult")
	procCreateComputeSystem    = computecore.NewProc("HcsCreateComputeSystem")
	procStartComputeSystem     = computecore.NewProc("HcsStartComputeSystem")
	procShutDownComputeSystem  = computecore.NewProc("HcsShutDownComputeSystem")
	procTerminateComputeSystem = computecore.NewProc("HcsTerminateComputeSystem")
	procCloseComputeSystem     = computecore.NewProc("HcsCloseComputeSystem")
	procGetProperties          = computecore.NewProc("HcsGetComputeSystemProperties")
	procModifyComputeSystem    = computecore.NewProc("HcsModifyComputeSystem")
	procLocalFree              = windows.NewLazySystemDLL("kernel32.dll").NewProc("LocalFree")
)

// infinite is the wait timeout meaning "no timeout".
const infinite = 0xFFFFFFFF

// system is an open compute system.
type system struct{ h uintptr }

// available returns an error when computecore.dll or its functions are
// missing (Hyper-V / the Virtual Machine Platform is not enabled).
func available() error {
	if err := computecore.Load(); err != nil {
		return err
	}
	return procCreateComputeSystem.Find()
}

// call runs an HCS function that takes an operation as its last-but-n
// argument: f receives the operation handle. It waits for the result
// document and returns it, or an error with HCS's message.
func call(what string, f func(op uintptr) (uintptr, error)) (string, error) {
	op, _, _ := procCreateOperation.Call(0, 0)
	if op == 0 {
		return "", fmt.Errorf("%s: HcsCreateOperation failed", what)
	}
	defer procCloseOperation.Call(op)
	if hr, err := f(op); int32(hr) < 0 {
		return "", hcsError(what, hr, "", err)
	}
	var result *uint16
	hr, _, _ := procWaitForOperationResult.Call(op, infinite, uintptr(unsafe.Pointer(&result)))
	doc := takeString(result)
	if int32(hr) < 0 {
		return "", hcsError(what, hr, doc, nil)
	}
	return doc, nil
}

// takeString copies and frees a string HCS allocated.
func takeString(p *uint16) string {
	if p == nil {
		return ""
	}
	s := windows.UTF16PtrToString(p)
	procLocalFree.Call(uintptr(unsafe.Pointer(p)))
	return s
}

// hcsError formats an HRESULT and HCS's result document.
func hcsError(what string, hr uintptr, doc string, cause error) error {
	var r struct {
		Error        int32
		ErrorMessage string
	}
	msg := syscall.Errno(hr).Error()
	if cause != nil && cause != syscall.Errno(0) {
		msg += " (" + cause.Error() + ")"
	}
	if doc != "" && json.Unmarshal([]byte(doc), &r) == nil && r.ErrorMessage != "" {
		msg = r.ErrorMessage
	}
	return fmt.Errorf("%s: %s (hresult 0x%08x)", what, msg, uint32(hr))
}

func utf16(s string) *uint16 {
	p, _ := windows.UTF16PtrFromString(s)
	return p
}

func ptr(p *uint16) uintptr { return uintptr(unsafe.Pointer(p)) }

// createSystem creates (but does not start) the compute system id from doc.
func createSystem(id string, doc any) (*system, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var h uintptr
	_, err = call("HcsCreateComputeSystem", func(op uintptr) (uintptr, error) {
		hr, _, e := procCreateComputeSystem.Call(ptr(utf16(id)), ptr(utf16(string(b))), op, 0, uintptr(unsafe.Pointer(&h)))
		return hr, e
	})
	if err != nil {
		return nil, err
	}
	return &system{h: h}, nil
}

func (s *system) simple(what string, proc *windows.LazyProc, options string) error {
	_, err := call(what, func(op uintptr) (uintptr, error) {
		var o uintptr
		if options != "" {
			o = ptr(utf16(options))
		}
		hr, _, e := proc.Call(s.h, op, o)
		return hr, e
	})
	return err
}

func (s *system) start() error { return s.simple("HcsStartComputeSystem", procStartComputeSystem, "") }

func (s *system) shutdown() error {
	return s.simple("HcsShutDownComputeSystem", procShutDownComputeSystem, "")
}

func (s *system) terminate() error {
	return s.simple("HcsTerminateComputeSystem", procTerminateComputeSystem, "")
}

// modify applies a modification request (for example adding a network
// adapter to the running VM).
func (s *system) modify(request any) error {
	b, err := json.Marshal(request)
	if err != nil {
		return err
	}
	_, err = call("HcsModifyComputeSystem", func(op uintptr) (uintptr, error) {
		hr, _, e := procModifyComputeSystem.Call(s.h, op, ptr(utf16(string(b))), 0)
		return hr, e
	})
	return err
}

// properties are the fields of the properties document berth reads.
type properties struct {
	RuntimeID string `json:"RuntimeId"`
	State     string `json:"State"`
}

func (s *system) properties() (properties, error) {
	var p properties
	doc, err := call("HcsGetComputeSystemProperties", func(op uintptr) (uintptr, error) {
		hr, _, e := procGetProperties.Call(s.h, op, 0)
		return hr, e
	})
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return p, fmt.Errorf("HcsGetComputeSystemProperties: %w", err)
	}
	return p, nil
}

// runtimeID returns the VM's runtime id, the VM id hvsock addresses use.
func (s *system) runtimeID() (string, error) {
	p, err := s.properties()
	if err == nil && p.RuntimeID == "" {
		err = errors.New("HcsGetComputeSystemProperties: no RuntimeId")
	}
	return p.RuntimeID, err
}

// state is the system's state ("Running", "Stopped", ...).
func (s *system) state() (string, error) {
	p, err := s.properties()
	return p.State, err
}

func (s *system) close() {
	if s.h != 0 {
		procCloseComputeSystem.Call(s.h)
		s.h = 0
	}
}
