// Command credserver serves short-lived, narrowly scoped cloud credentials
// to JupyterHub users. Subcommands: serve, check, explain, version.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/credserver/credserver/internal/app"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/server"
)

const usage = `usage: credserver <command> [flags]

commands:
  serve   -config FILE    serve the API
  check   -config FILE    validate a config file and its policy
  explain -config FILE -user U [-groups a,b] [-grant G] [-admin]   what U may have, and why
  revoke  -config FILE -user U   revoke all of U's delegation tokens and GitHub links
  version                 print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "check":
		return check(args[1:], stdout, stderr)
	case "explain":
		return explain(args[1:], stdout, stderr)
	case "revoke":
		return revoke(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "credserver", app.Version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "credserver: unknown command %q\n%s", args[0], usage)
	return 2
}

func configFlag(name string, args []string, stderr io.Writer) (string, int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", os.Getenv("CREDSERVER_CONFIG"), "config file (env CREDSERVER_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return "", 2
	}
	if *path == "" {
		fmt.Fprintf(stderr, "credserver %s: -config is required\n", name)
		return "", 2
	}
	return *path, 0
}

func check(args []string, stdout, stderr io.Writer) int {
	path, rc := configFlag("check", args, stderr)
	if rc != 0 {
		return rc
	}
	cfg, err := config.Load(path)
	if err == nil {
		_, err = policy.Compile(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return 1
	}
	if bad := fileProblems(cfg); len(bad) > 0 {
		for _, p := range bad {
			fmt.Fprintf(stderr, "%s: %s\n", path, p)
		}
		fmt.Fprintf(stderr, "%s: %d file(s) credserver could not use (check runs as, and where, credserver runs)\n", path, len(bad))
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (%d providers, %d grants)\n", path, len(cfg.Providers), len(cfg.Grants))
	return 0
}

func serve(args []string, stderr io.Writer) int {
	path, rc := configFlag("serve", args, stderr)
	if rc != 0 {
		return rc
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: logLevel()}))
	if err := serveConfig(path, log); err != nil {
		log.Error("credserver stopped", "error", err.Error())
		return 1
	}
	return 0
}

func serveConfig(path string, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if limit, err := app.SetMemoryLimit(nil); err != nil {
		return err
	} else if limit > 0 {
		log.Info("memory limit set from the container's", "bytes", limit)
	}
	audit := io.Writer(os.Stdout)
	var auditLog *server.AuditLog
	if cfg.AuditLog != "" {
		if auditLog, err = server.OpenAuditLog(cfg.AuditLog); err != nil {
			return err
		}
		defer auditLog.Close()
		audit = auditLog
	}
	metrics := server.NewMetrics()
	srv, err := app.Build(ctx, cfg, app.Options{Logger: log, Audit: audit, Metrics: metrics})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("listen for metrics: %w", err)
		}
		go func() {
			if err := app.Serve(ctx, mln, metrics.Handler(), log, 5*time.Second); err != nil {
				log.Error("metrics listener stopped", "error", err.Error())
			}
		}()
	}
	sighup := make(chan os.Signal, 1)
	signal.Notify(sighup, syscall.SIGHUP)
	defer signal.Stop(sighup)
	// SIGHUP first reopens audit_log (log rotation: the old file has been
	// renamed away), then reloads the config.
	hup := make(chan os.Signal, 1)
	go func() {
		for sig := range sighup {
			if auditLog != nil {
				if err := auditLog.Reopen(); err != nil {
					log.Error("audit_log not reopened; still writing to the old file", "error", err.Error())
				} else {
					log.Info("audit_log reopened", "path", cfg.AuditLog)
				}
			}
			hup <- sig
		}
	}()
	go app.NewReloader(path, cfg, srv, metrics, log).Watch(ctx, 2*time.Second, hup)

	log.Info("credserver listening", "addr", ln.Addr().String(), "base_path", cfg.BasePath,
		"metrics", cmp.Or(cfg.MetricsListen, cfg.Listen), "version", app.Version)
	if err := app.Serve(ctx, ln, srv.Handler(), log, 30*time.Second); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("CREDSERVER_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
