package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxPasswordFile bounds what LoadPasswordFile reads.
const maxPasswordFile = 4096

// LoadPasswordFile reads a PostgreSQL password from path: the file's
// contents with surrounding whitespace (a trailing newline) trimmed. An
// empty file, or one larger than 4 KiB, is an error. Errors name the file,
// never its contents.
func LoadPasswordFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPasswordFile+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) > maxPasswordFile {
		return "", fmt.Errorf("%s is larger than %d bytes: it must hold the password alone", path, maxPasswordFile)
	}
	pw := strings.TrimSpace(string(b))
	if pw == "" {
		return "", errors.New(path + " is empty: it must hold the database password")
	}
	return pw, nil
}
