package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/node"
)

func configReference() string { return config.Reference() }

func isInputError(err error) bool {
	var ce *config.Error
	if errors.As(err, &ce) {
		return true
	}
	return directory.IsInputError(err)
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("config", "", "configuration file (TOML); empty uses the defaults")
	check := fs.Bool("check", false, "check the configuration and exit")
	fs.Usage = func() {
		fmt.Fprintf(os.Stdout, "Usage: cjsm serve --config FILE [--check]\n\n")
		fmt.Fprintf(os.Stdout, "Runs every listener of one node until SIGTERM or SIGINT, then lets\n")
		fmt.Fprintf(os.Stdout, "work in progress finish for up to %s.\n\nFlags:\n", node.ShutdownGrace())
		fs.SetOutput(os.Stdout)
		fs.PrintDefaults()
		fmt.Fprintf(os.Stdout, "\nConfiguration options (see docs/configuration.md):\n%s", config.Help())
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if *check {
		fmt.Fprintf(stdout, "configuration %s is valid\n", cfg.Path)
		return nil
	}
	return serve(ctx, cfg, stderr, nil, nil)
}

// serve runs a node until ctx ends. prepare, when not nil, is called before the listeners
// start; started, when not nil, once every listener is bound.
func serve(ctx context.Context, cfg config.Config, logOut io.Writer, prepare func(*node.Node), started func(*node.Node) error) error {
	logger := node.NewLogger(cfg, logOut)
	n, err := node.Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	if prepare != nil {
		prepare(n)
	}
	if err := n.Start(ctx); err != nil {
		n.Shutdown(context.Background())
		return err
	}
	logger.Info("cjsm started", "version", version, "store", n.Store.Dialect().String(),
		"data_dir", cfg.DataDir)
	if started != nil {
		if err := started(n); err != nil {
			n.Shutdown(context.Background())
			return err
		}
	}
	waitErr := n.Wait(ctx)
	logger.Info("cjsm stopping: finishing work in progress", "grace", node.ShutdownGrace().String())
	sctx, cancel := context.WithTimeout(context.Background(), node.ShutdownGrace())
	defer cancel()
	if err := n.Shutdown(sctx); err != nil {
		logger.Error("shutdown incomplete", "err", err)
		if waitErr == nil {
			waitErr = err
		}
	}
	logger.Info("cjsm stopped")
	return waitErr
}
