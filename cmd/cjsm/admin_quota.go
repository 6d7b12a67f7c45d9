package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/cjsm/cjsm/internal/directory"
)

func init() {
	register("quota", "set", quotaSet)
	register("quota", "show", quotaShow)
}

func quotaOwnerFlags(fs *flag.FlagSet) *directory.QuotaOwner {
	var q directory.QuotaOwner
	fs.StringVar(&q.Person, "person", "", "address of a person")
	fs.StringVar(&q.Group, "group", "", "address of a group mailbox")
	fs.StringVar(&q.Org, "org", "", "slug of an organisation: the limit applies to the "+
		"total of all its mailboxes")
	return &q
}

func quotaSet(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("quota set", flag.ContinueOnError)
	q := quotaOwnerFlags(fs)
	maxSize := fs.String("max", "", "largest storage, such as 5GB, 500MB or 2048KB (units of 1024), "+
		"or 0 for no limit; required")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("quota set: unexpected arguments %q; give everything as flags", pos)
	}
	if *maxSize == "" {
		return usagef("quota set: give --max SIZE, such as --max 5GB, or --max 0 for no limit")
	}
	bytes, err := parseSize(*maxSize)
	if err != nil {
		return usagef("quota set: --max %v", err)
	}
	if err := env.dir.SetQuota(env.ctx, env.actor, *q, bytes); err != nil {
		return err
	}
	u, err := env.dir.Quota(env.ctx, *q)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "quota of %s %s: %s\n", u.Kind, u.Name, usageText(u))
	return nil
}

func quotaShow(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("quota show", flag.ContinueOnError)
	q := quotaOwnerFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("quota show: unexpected arguments %q; give --person, --group or --org", pos)
	}
	u, err := env.dir.Quota(env.ctx, *q)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.stdout, u)
	}
	fmt.Fprintf(env.stdout, "quota of %s %s: %s\n", u.Kind, u.Name, usageText(u))
	return nil
}

func usageText(u directory.QuotaUsage) string {
	if u.Limit == 0 {
		return fmt.Sprintf("%d bytes used (%s), no limit", u.Used, humanSize(u.Used))
	}
	return fmt.Sprintf("%d of %d bytes used (%s of %s, %d%%)", u.Used, u.Limit,
		humanSize(u.Used), humanSize(u.Limit), u.Used*100/u.Limit)
}

// humanSize writes n bytes in the largest unit of 1024 (KB, MB, GB, TB) that keeps the
// number at 1 or more, with one decimal.
func humanSize(n int64) string {
	units := []string{"KB", "MB", "GB", "TB"}
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	v, unit := float64(n)/1024, units[0]
	for _, u := range units[1:] {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// parseSize reads a storage size: a number of bytes, or a number followed by KB, MB, GB or
// TB, each 1024 times the one before.
func parseSize(s string) (int64, error) {
	text := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for i, unit := range []string{"KB", "MB", "GB", "TB"} {
		if strings.HasSuffix(text, unit) {
			text = strings.TrimSpace(strings.TrimSuffix(text, unit))
			mult = int64(1) << (10 * (i + 1))
			break
		}
	}
	text = strings.TrimSuffix(text, "B")
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size; give bytes or a number with KB, MB, GB or TB, "+
			"such as 5GB", s)
	}
	return n * mult, nil
}
