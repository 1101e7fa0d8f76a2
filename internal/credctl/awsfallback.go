package credctl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// notYours says why credctl should not change the AWS config file at path
// that AWS_CONFIG_FILE names ("" when it may): a file the hub admin mounted
// read-only, or one owned by someone else, is shared by every user and is
// not the user's to edit.
func notYours(path string) string {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// writeProfile creates missing directories: the first one that
		// exists must be writable.
		dir := filepath.Dir(path)
		for {
			if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
				break
			}
			dir = filepath.Dir(dir)
		}
		if syscall.Access(dir, 2 /* W_OK */) != nil {
			return "in a directory you cannot write"
		}
		return ""
	case err != nil:
		return "unreadable"
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return fmt.Sprintf("owned by uid %d, not you", sys.Uid)
	}
	if st.Mode().Perm()&0o200 == 0 || syscall.Access(path, 2) != nil {
		return "read-only"
	}
	if syscall.Access(filepath.Dir(path), 2) != nil {
		return "in a directory you cannot write"
	}
	return ""
}

// personalConfig returns ~/.aws/config, creating it from the shared file
// when it does not exist yet, so that selecting it keeps the admin's
// profiles (the default one above all).
func (c *CLI) personalConfig(shared string) (string, bool, error) {
	home, err := c.UserHomeDir()
	if err != nil {
		return "", false, fmt.Errorf("finding the home directory for the AWS config file: %w", err)
	}
	p := filepath.Join(home, ".aws", "config")
	if _, err := os.Stat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return p, false, nil
	}
	b, err := os.ReadFile(shared)
	if err != nil {
		return p, false, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", false, fmt.Errorf("creating the directory of %s: %w", p, err)
	}
	if err := atomicWrite(p, b, 0o600); err != nil {
		return "", false, fmt.Errorf("writing %s: %w", p, err)
	}
	return p, true, nil
}

// fallbackNote tells the user why the profile is not in AWS_CONFIG_FILE and
// how to make AWS tools read the file it is in.
func fallbackNote(shared, why, personal string, seeded bool, profile string) string {
	s := fmt.Sprintf("\nAWS_CONFIG_FILE is %s, which is %s, so the profile went to %s", shared, why, personal)
	if seeded {
		s += " (a copy of that file's profiles plus this one)"
	}
	py := pyString(profile)
	s += ".\nAWS tools read only the file AWS_CONFIG_FILE names; to use this profile select both:\n\n"
	s += fmt.Sprintf("  shell, aws CLI:  export AWS_CONFIG_FILE=%s AWS_PROFILE=%s\n", joinArgs([]string{personal}), joinArgs([]string{profile}))
	s += fmt.Sprintf("  Python:          os.environ[\"AWS_CONFIG_FILE\"] = %s\n", pyString(personal))
	s += fmt.Sprintf("                   boto3.Session(profile_name=%s), s3fs.S3FileSystem(profile=%s)\n", py, py)
	return s
}
