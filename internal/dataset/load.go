package dataset

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// ErrStoreNotEmpty is returned by Load when the store already has organisations and
// LoadOptions.Force is not set. Load into an empty store, or set Force to add the
// dataset beside the existing rows.
var ErrStoreNotEmpty = errors.New("dataset: the store already has organisations")

// Load phases, as passed to LoadOptions.Progress.
const (
	PhaseOrganisations = "organisations"
	PhaseDomains       = "domains"
	PhasePeople        = "people"
	PhaseCommit        = "commit"
)

// loadBatch is the number of rows per store call, and so per progress report.
const loadBatch = 10_000

// LoadOptions controls Load.
type LoadOptions struct {
	// Force loads into a store that already has organisations. The new organisations
	// and domains avoid the existing slugs and domain names.
	Force bool
	// Actor and Source are written to the audit row, as in the directory service:
	// "operator:<user>" and "cli" for an operator's command.
	Actor  string
	Source string
	// Progress, when set, is called after each batch of rows with the phase, the rows
	// written so far and the rows to write in all. It runs on the loading goroutine, so
	// it should return quickly.
	Progress func(phase string, done, total int64)
}

// LoadResult describes a finished load.
type LoadResult struct {
	Summary
	FirstOrgID int64
	Elapsed    time.Duration
}

// Load generates the dataset that opts describe and writes it to st in one transaction,
// with one audit row for the whole load: either every row is there afterwards or none.
// opts.FirstOrgID, ExistingSlugs and ExistingDomains are set by Load from the store.
func Load(ctx context.Context, st *store.Store, opts Options, lo LoadOptions) (LoadResult,
	error) {
	start := time.Now()
	counts, err := ScaledCounts(opts.Scale)
	if err != nil {
		return LoadResult{}, err
	}
	progress := lo.Progress
	if progress == nil {
		progress = func(string, int64, int64) {}
	}

	var res LoadResult
	err = st.BulkLoad(ctx, func(b *store.BulkTx) error {
		ds, err := prepare(ctx, b, opts, lo.Force, counts)
		if err != nil {
			return err
		}
		res.Summary = ds.Summary()
		res.FirstOrgID = ds.opts.FirstOrgID
		if err := write(ctx, b, ds, progress); err != nil {
			return err
		}

		err = b.AppendAudit(ctx, &store.AuditEntry{Actor: actorOrSystem(lo.Actor),
			Action: "dataset.load", Target: "dataset:national", Source: lo.Source,
			Detail: fmt.Sprintf("seed=%d scale=%g organisations=%d domains=%d people=%d "+
				"first_org_id=%d forced=%t", opts.Seed, opts.Scale, res.Organisations,
				res.Domains, res.People, res.FirstOrgID, lo.Force)})
		if err != nil {
			return fmt.Errorf("dataset: write the audit row: %w", err)
		}
		total := int64(res.Counts.Total())
		progress(PhaseCommit, total, total)
		return nil
	})
	if err != nil {
		return LoadResult{}, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func actorOrSystem(actor string) string {
	if actor == "" {
		return "system"
	}
	return actor
}

// prepare checks that the store may take the dataset, reserves its organisation IDs and
// generates it around the slugs and domains already there.
func prepare(ctx context.Context, b *store.BulkTx, opts Options, force bool,
	counts Counts) (*Dataset, error) {
	slugs, err := b.OrganisationSlugs(ctx)
	if err != nil {
		return nil, fmt.Errorf("dataset: list existing organisations: %w", err)
	}
	if len(slugs) > 0 && !force {
		return nil, fmt.Errorf("%w (%d of them)", ErrStoreNotEmpty, len(slugs))
	}
	domains, err := b.DomainNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("dataset: list existing domains: %w", err)
	}
	first, err := b.ReserveOrganisationIDs(ctx, counts.Organisations)
	if err != nil {
		return nil, err
	}

	opts.FirstOrgID = first
	opts.ExistingSlugs, opts.ExistingDomains = slugs, domains
	ds, err := Generate(opts)
	if err != nil {
		return nil, err
	}
	if len(ds.Organisations) != counts.Organisations {
		// The reserved ID range would not match the rows.
		return nil, fmt.Errorf("dataset: generated %d organisations, expected %d",
			len(ds.Organisations), counts.Organisations)
	}
	return ds, nil
}

// write inserts the organisations, the domains and the people of ds, reporting progress
// after each batch. People are generated on another goroutine while the previous batch
// is written.
func write(ctx context.Context, b *store.BulkTx, ds *Dataset,
	progress func(string, int64, int64)) error {
	total := int64(ds.Summary().Total())
	var done int64

	for start := 0; start < len(ds.Organisations); start += loadBatch {
		batch := ds.Organisations[start:min(start+loadBatch, len(ds.Organisations))]
		if err := b.InsertOrganisations(ctx, batch); err != nil {
			return fmt.Errorf("dataset: insert organisations: %w", err)
		}
		done += int64(len(batch))
		progress(PhaseOrganisations, done, total)
	}
	for start := 0; start < len(ds.Domains); start += loadBatch {
		batch := ds.Domains[start:min(start+loadBatch, len(ds.Domains))]
		if err := b.InsertDomains(ctx, batch); err != nil {
			return fmt.Errorf("dataset: insert domains: %w", err)
		}
		done += int64(len(batch))
		progress(PhaseDomains, done, total)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []store.Person, 2)
	genErr := make(chan error, 1)
	go func() {
		defer close(batches)
		genErr <- generatePeople(ctx, ds, batches)
	}()
	for batch := range batches {
		if err := b.InsertPeople(ctx, batch); err != nil {
			cancel()
			for range batches { // let the generator finish
			}
			return fmt.Errorf("dataset: insert people: %w", err)
		}
		done += int64(len(batch))
		progress(PhasePeople, done, total)
	}
	return <-genErr
}

// generatePeople sends the people of every organisation, in order, in batches of about
// loadBatch.
func generatePeople(ctx context.Context, ds *Dataset, out chan<- []store.Person) error {
	batch := make([]store.Person, 0, loadBatch+1000)
	send := func() error {
		select {
		case out <- batch:
			batch = make([]store.Person, 0, loadBatch+1000)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for i := range ds.Organisations {
		people, err := ds.People(i)
		if err != nil {
			return err
		}
		batch = append(batch, people...)
		if len(batch) >= loadBatch {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if len(batch) > 0 {
		return send()
	}
	return nil
}
