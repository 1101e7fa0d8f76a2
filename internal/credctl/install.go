package credctl

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// install copies the running credctl binary into dir as dir/credctl (mode
// 0755), so that a container with no shell (the credserver image) can put
// credctl into a volume shared with a user's server: the init container in
// deploy/jupyterhub/z2jh-values.yaml runs "credctl install /opt/credserver/bin".
// The copy is written to a temporary file and renamed, so a reader never sees
// half a binary.
func (c *CLI) install(args []string) error {
	set := newFlagSet("install")
	pos, err := parseArgs(set, args)
	if err != nil {
		return c.flagError("install", err)
	}
	if len(pos) != 1 {
		return usagef("install: want exactly one directory: credctl install DIR")
	}
	dir := pos[0]
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("install: %s is not a directory", dir)
	}
	exe, err := c.Executable()
	if err != nil {
		return fmt.Errorf("install: locating the credctl binary: %w", err)
	}
	src, err := os.Open(exe)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer src.Close()
	target := filepath.Join(dir, "credctl")
	if sameFile(exe, target) {
		return c.print(fmt.Sprintf("credctl is already installed at %s\n", target))
	}
	tmp, err := os.CreateTemp(dir, ".credctl.tmp-*")
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return fmt.Errorf("install: writing %s: %w", target, err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return fmt.Errorf("install: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("install: writing %s: %w", target, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	return c.print(fmt.Sprintf("Installed credctl %s at %s\n", versionString(), target))
}
