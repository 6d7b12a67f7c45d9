// Command cjsmprof runs one cjsm node from a configuration file, as `cjsm serve` does, and
// writes a Go CPU profile of it. cjsm itself has no profiling endpoint; this wrapper lives
// with the benchmarks so that the product binary stays without one.
//
//	cjsmprof -config cjsm.toml -cpuprofile cpu.pprof [-memprofile mem.pprof]
//
// The CPU profile covers the time from the listeners' start to SIGTERM or SIGINT; the
// memory profile is written at the stop and holds the allocations of the whole run. Read
// them with `go tool pprof -top cjsmprof cpu.pprof`.
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

	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/node"
)

func main() {
	fs := flag.NewFlagSet("cjsmprof", flag.ContinueOnError)
	configPath := fs.String("config", "", "cjsm configuration file (TOML); required")
	cpuPath := fs.String("cpuprofile", "", "file to write the CPU profile to; required")
	memPath := fs.String("memprofile", "", "file to write the allocation profile to at the stop")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if *configPath == "" || *cpuPath == "" {
		fmt.Fprintln(os.Stderr, "cjsmprof: -config and -cpuprofile are required")
		os.Exit(2)
	}
	if err := run(*configPath, *cpuPath, *memPath); err != nil {
		fmt.Fprintf(os.Stderr, "cjsmprof: %v\n", err)
		os.Exit(1)
	}
}

func run(configPath, cpuPath, memPath string) error {
	cfg, err := config.Load(configPath)
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
	if err := n.Start(ctx); err != nil {
		n.Shutdown(context.Background())
		return err
	}

	cpuFile, err := os.Create(cpuPath)
	if err != nil {
		n.Shutdown(context.Background())
		return fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(cpuFile); err != nil {
		n.Shutdown(context.Background())
		return fmt.Errorf("start CPU profile: %w", err)
	}
	logger.Info("cjsmprof: node started, CPU profile running", "cpuprofile", cpuPath)

	waitErr := n.Wait(ctx)
	pprof.StopCPUProfile()
	if err := cpuFile.Close(); err != nil {
		logger.Error("cjsmprof: write CPU profile", "cpuprofile", cpuPath, "err", err)
	}
	if memPath != "" {
		writeHeapProfile(memPath, logger.Error)
	}

	sctx, cancel := context.WithTimeout(context.Background(), node.ShutdownGrace())
	defer cancel()
	return errors.Join(waitErr, n.Shutdown(sctx))
}

// writeHeapProfile writes the allocation profile; a failure is logged, since the CPU
// profile is already safe.
func writeHeapProfile(path string, logError func(string, ...any)) {
	f, err := os.Create(path)
	if err != nil {
		logError("cjsmprof: -memprofile", "memprofile", path, "err", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		logError("cjsmprof: write allocation profile", "memprofile", path, "err", err)
	}
}
