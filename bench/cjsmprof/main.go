// Command cjsmprof runs one cjsm node from a configuration file, as `cjsm serve` does, and
// writes Go profiles of it. cjsm itself has no profiling endpoint; this wrapper lives with
// the benchmarks so that the product binary stays without one.
//
//	cjsmprof -config cjsm.toml -cpuprofile cpu.pprof [-memprofile mem.pprof] \
//	    [-blockprofile block.pprof] [-max-open-conns N] [-max-idle-conns N]
//
// The CPU profile covers the time from the listeners' start to SIGTERM or SIGINT. The
// allocation and blocking profiles are written at the stop and cover the whole run. The
// blocking profile shows where goroutines wait (channels, locks, database/sql's connection
// pool), which a CPU profile cannot show. Read them with
// `go tool pprof -top cjsmprof cpu.pprof`.
//
// -max-open-conns and -max-idle-conns override the sizes of the store's database/sql pool
// once the node has opened it. They exist to measure a proposed change to cjsm without
// editing it; `cjsm serve` has no such settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/node"
)

// settings are the command-line settings.
type settings struct {
	configPath, cpuPath, memPath, blockPath string
	maxOpenConns, maxIdleConns              int // 0 keeps the store's own setting
}

func main() {
	fs := flag.NewFlagSet("cjsmprof", flag.ContinueOnError)
	var s settings
	fs.StringVar(&s.configPath, "config", "", "cjsm configuration file (TOML); required")
	fs.StringVar(&s.cpuPath, "cpuprofile", "", "file to write the CPU profile to; required")
	fs.StringVar(&s.memPath, "memprofile", "",
		"file to write the allocation profile to at the stop")
	fs.StringVar(&s.blockPath, "blockprofile", "",
		"file to write the blocking profile to at the stop; waits of 10 µs or more are sampled")
	fs.IntVar(&s.maxOpenConns, "max-open-conns", 0,
		"experiment: connections the store may open at once (0 keeps cjsm's setting)")
	fs.IntVar(&s.maxIdleConns, "max-idle-conns", 0,
		"experiment: idle connections the store keeps open (0 keeps cjsm's setting)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if s.configPath == "" || s.cpuPath == "" {
		fmt.Fprintln(os.Stderr, "cjsmprof: -config and -cpuprofile are required")
		os.Exit(2)
	}
	if s.blockPath != "" {
		runtime.SetBlockProfileRate(int((10 * time.Microsecond).Nanoseconds()))
	}
	if err := run(s); err != nil {
		fmt.Fprintf(os.Stderr, "cjsmprof: %v\n", err)
		os.Exit(1)
	}
}

func run(s settings) error {
	cfg, err := config.Load(s.configPath)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	logger := node.NewLogger(cfg, os.Stderr)
	n, err := node.Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	if s.maxOpenConns > 0 {
		n.Store.DB().SetMaxOpenConns(s.maxOpenConns)
	}
	if s.maxIdleConns > 0 {
		n.Store.DB().SetMaxIdleConns(s.maxIdleConns)
	}
	if err := n.Start(ctx); err != nil {
		n.Shutdown(context.Background())
		return err
	}

	cpuFile, err := os.Create(s.cpuPath)
	if err != nil {
		n.Shutdown(context.Background())
		return fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(cpuFile); err != nil {
		n.Shutdown(context.Background())
		return fmt.Errorf("start CPU profile: %w", err)
	}
	logger.Info("cjsmprof: node started, CPU profile running", "cpuprofile", s.cpuPath,
		"max_open_conns", s.maxOpenConns, "max_idle_conns", s.maxIdleConns)

	waitErr := n.Wait(ctx)
	pprof.StopCPUProfile()
	if err := cpuFile.Close(); err != nil {
		logger.Error("cjsmprof: write CPU profile", "cpuprofile", s.cpuPath, "err", err)
	}
	if s.memPath != "" {
		writeProfile("allocs", s.memPath, logger.Error)
	}
	if s.blockPath != "" {
		writeProfile("block", s.blockPath, logger.Error)
	}

	sctx, cancel := context.WithTimeout(context.Background(), node.ShutdownGrace())
	defer cancel()
	return errors.Join(waitErr, n.Shutdown(sctx))
}

// writeProfile writes the named runtime profile to path; a failure is logged, since the CPU
// profile is already safe.
func writeProfile(name, path string, logError func(string, ...any)) {
	f, err := os.Create(path)
	if err != nil {
		logError("cjsmprof: create profile file", "profile", name, "path", path, "err", err)
		return
	}
	defer f.Close()
	if name == "allocs" {
		runtime.GC()
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		logError("cjsmprof: write profile", "profile", name, "path", path, "err", err)
	}
}
