package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/cjsm/cjsm/internal/dataset"
)

func init() {
	register("dataset", "load", datasetLoad)
}

func datasetLoad(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("dataset load", flag.ContinueOnError)
	scale := fs.Float64("scale", 1.0, fmt.Sprintf("size relative to the national community "+
		"(%d organisations, %d domains, %d people); above 0, at most %d",
		dataset.NationalOrganisations, dataset.NationalDomains, dataset.NationalPeople,
		dataset.MaxScale))
	seed := fs.Uint64("seed", 1, "random seed; the same seed and scale give the same "+
		"organisations, domains and people, with times counted back from the load")
	force := fs.Bool("force", false, "load even though the store already has organisations")
	fs.Usage = func() {
		// fs.Output, not stdout: the flag package calls Usage once while parsing, with
		// the output discarded, and parseFlags calls it again to print it.
		fmt.Fprintln(fs.Output(), "Usage: cjsm admin dataset load [--scale 1.0] [--seed 1] [--force]")
		fmt.Fprintln(fs.Output(), "Generates a synthetic national community and loads it "+
			"in one transaction.")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("dataset load: unexpected argument %q; it takes flags only", pos[0])
	}
	counts, err := dataset.ScaledCounts(*scale)
	if err != nil {
		return usagef("dataset load: --scale %v is out of range; use a number above 0 and "+
			"at most %d (1 is the national size)", *scale, dataset.MaxScale)
	}

	// Ctrl-C cancels the load; the transaction rolls back and the store stays as it was.
	ctx, stop := signal.NotifyContext(env.ctx, os.Interrupt)
	defer stop()

	fmt.Fprintf(env.stderr, "loading %d organisations, %d domains and %d people into the %s "+
		"store (seed %d, scale %g)\n", counts.Organisations, counts.Domains, counts.People,
		env.st.Dialect(), *seed, *scale)
	bar := dataset.NewBar(env.stderr, isTerminal(env.stderr))
	res, err := dataset.Load(ctx, env.st, dataset.Options{Scale: *scale, Seed: *seed,
		Suffix: env.dir.Suffix(), Now: time.Now()}, dataset.LoadOptions{Force: *force,
		Actor: env.actor.Name, Source: env.actor.Source, Progress: bar.Update})
	bar.Finish()
	if errors.Is(err, dataset.ErrStoreNotEmpty) {
		return fmt.Errorf("%w; load into an empty store, or run again with --force to add "+
			"the dataset beside them", err)
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("dataset load: interrupted; the transaction was rolled back and " +
			"nothing was loaded")
	}
	if err != nil {
		return err
	}

	rows := res.Counts.Total()
	fmt.Fprintf(env.stdout, "loaded %d organisations (%d sub-organisations, up to %d levels "+
		"deep), %d domains (%d gateway, %d hosted) and %d people\n", res.Organisations,
		res.SubOrganisations, res.MaxDepth, res.Domains, res.GatewayDomains, res.HostedDomains,
		res.People)
	fmt.Fprintf(env.stdout, "%d rows in %s (%.0f rows/s), one audit row\n", rows,
		res.Elapsed.Round(time.Millisecond), float64(rows)/res.Elapsed.Seconds())
	return nil
}

// isTerminal reports whether w is a terminal, so that progress can be redrawn in place.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd())
}
