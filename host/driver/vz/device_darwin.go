//go:build darwin && cgo

package vz

import (
	"os"
	"path/filepath"

	"github.com/Code-Hex/vz/v3"
)

func (d *Driver) diskPath() string { return filepath.Join(d.inst.Dir, diskFile) }

// vmConfiguration turns cfg into Virtualization.framework's configuration
// and validates it (where a missing entitlement shows up).
func vmConfiguration(cfg Config, consoleIn, consoleW *os.File) (*vz.VirtualMachineConfiguration, error) {
	boot, err := vz.NewLinuxBootLoader(cfg.Kernel, vz.WithCommandLine(cfg.Cmdline), vz.WithInitrd(cfg.Initrd))
	if err != nil {
		return nil, explainVZError("boot loader", err)
	}
	vmCfg, err := vz.NewVirtualMachineConfiguration(boot, cfg.CPUs, cfg.MemoryBytes)
	if err != nil {
		return nil, explainVZError("VM configuration", err)
	}
	steps := []func(*vz.VirtualMachineConfiguration, Config) error{
		addDisk, addSocket, addNetwork, addEntropy, addBalloon, addShares,
		func(c *vz.VirtualMachineConfiguration, _ Config) error { return addConsole(c, consoleIn, consoleW) },
	}
	for _, step := range steps {
		if err := step(vmCfg, cfg); err != nil {
			return nil, err
		}
	}
	if _, err := vmCfg.Validate(); err != nil {
		return nil, explainVZError("invalid VM configuration", err)
	}
	return vmCfg, nil
}

func addDisk(c *vz.VirtualMachineConfiguration, cfg Config) error {
	att, err := vz.NewDiskImageStorageDeviceAttachment(cfg.Disk, false)
	if err != nil {
		return explainVZError("data disk "+cfg.Disk, err)
	}
	blk, err := vz.NewVirtioBlockDeviceConfiguration(att)
	if err != nil {
		return explainVZError("data disk", err)
	}
	c.SetStorageDevicesVirtualMachineConfiguration([]vz.StorageDeviceConfiguration{blk})
	return nil
}

func addSocket(c *vz.VirtualMachineConfiguration, _ Config) error {
	s, err := vz.NewVirtioSocketDeviceConfiguration()
	if err != nil {
		return explainVZError("vsock device", err)
	}
	c.SetSocketDevicesVirtualMachineConfiguration([]vz.SocketDeviceConfiguration{s})
	return nil
}

func addNetwork(c *vz.VirtualMachineConfiguration, cfg Config) error {
	if !cfg.NAT {
		return nil
	}
	nat, err := vz.NewNATNetworkDeviceAttachment()
	if err != nil {
		return explainVZError("NAT network", err)
	}
	nic, err := vz.NewVirtioNetworkDeviceConfiguration(nat)
	if err != nil {
		return explainVZError("network device", err)
	}
	mac, err := vz.NewRandomLocallyAdministeredMACAddress()
	if err != nil {
		return explainVZError("MAC address", err)
	}
	nic.SetMACAddress(mac)
	c.SetNetworkDevicesVirtualMachineConfiguration([]*vz.VirtioNetworkDeviceConfiguration{nic})
	return nil
}

func addEntropy(c *vz.VirtualMachineConfiguration, _ Config) error {
	e, err := vz.NewVirtioEntropyDeviceConfiguration()
	if err != nil {
		return explainVZError("entropy device", err)
	}
	c.SetEntropyDevicesVirtualMachineConfiguration([]*vz.VirtioEntropyDeviceConfiguration{e})
	return nil
}

func addBalloon(c *vz.VirtualMachineConfiguration, cfg Config) error {
	if !cfg.Balloon {
		return nil
	}
	b, err := vz.NewVirtioTraditionalMemoryBalloonDeviceConfiguration()
	if err != nil {
		return explainVZError("memory balloon", err)
	}
	c.SetMemoryBalloonDevicesVirtualMachineConfiguration([]vz.MemoryBalloonDeviceConfiguration{b})
	return nil
}

func addShares(c *vz.VirtualMachineConfiguration, cfg Config) error {
	var devs []vz.DirectorySharingDeviceConfiguration
	for _, s := range cfg.Shares {
		dir, err := vz.NewSharedDirectory(s.HostPath, false)
		if err != nil {
			return explainVZError("shared folder "+s.HostPath, err)
		}
		single, err := vz.NewSingleDirectoryShare(dir)
		if err != nil {
			return explainVZError("shared folder "+s.HostPath, err)
		}
		fs, err := vz.NewVirtioFileSystemDeviceConfiguration(s.Tag)
		if err != nil {
			return explainVZError("virtiofs device "+s.Tag, err)
		}
		fs.SetDirectoryShare(single)
		devs = append(devs, fs)
	}
	if cfg.Rosetta {
		fs, err := rosettaDevice()
		if err != nil {
			return err
		}
		devs = append(devs, fs)
	}
	c.SetDirectorySharingDevicesVirtualMachineConfiguration(devs)
	return nil
}

// addConsole connects the guest's hvc0 to w (the write end of a pipe the
// driver copies into the machine's log); in is what the guest reads
// (/dev/null). Both must stay open while the VM runs.
func addConsole(c *vz.VirtualMachineConfiguration, in, w *os.File) error {
	att, err := vz.NewFileHandleSerialPortAttachment(in, w)
	if err != nil {
		return explainVZError("serial console", err)
	}
	port, err := vz.NewVirtioConsoleDeviceSerialPortConfiguration(att)
	if err != nil {
		return explainVZError("serial console", err)
	}
	c.SetSerialPortsVirtualMachineConfiguration([]*vz.VirtioConsoleDeviceSerialPortConfiguration{port})
	return nil
}
