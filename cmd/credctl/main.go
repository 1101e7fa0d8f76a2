// Command credctl fetches short-lived credentials from credserver inside a
// JupyterHub user server. See internal/credctl for the commands.
package main

import (
	"os"

	"github.com/credserver/credserver/internal/credctl"
)

func main() {
	os.Exit(credctl.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
