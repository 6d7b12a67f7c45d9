// Command cjsm runs and administers Cross Justice Secure Mail.
//
//	cjsm serve --config FILE     run every listener of one node
//	cjsm demo --dir DIR          create (or reuse) a demo community in DIR and serve it
//	cjsm admin --config FILE …   operator commands
//	cjsm version                 print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// usageError is a command-line mistake: it exits with status 2 after the message.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const topUsage = `cjsm — Cross Justice Secure Mail

Usage:
  cjsm serve --config FILE     run a node (cjsm serve --help lists every option)
  cjsm demo --dir DIR          create or reuse a demo community in DIR and run it
  cjsm admin --config FILE …   operator commands (cjsm admin --help)
  cjsm config reference        print the configuration reference (docs/configuration.md)
  cjsm version                 print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs a command until it finishes, or for serve and demo until SIGTERM or SIGINT.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return runContext(ctx, args, stdout, stderr)
}

// runContext runs a command; serve and demo stop when ctx ends.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, args[1:], stdout, stderr)
	case "admin":
		err = cmdAdmin(args[1:], stdout, stderr)
	case "config":
		err = cmdConfig(args[1:], stdout)
	case "version", "--version":
		fmt.Fprintf(stdout, "cjsm %s\n", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, topUsage)
	default:
		err = usagef("unknown command %q; run cjsm --help for the list", args[0])
	}
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "cjsm: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) || isInputError(err) {
		return 2
	}
	return 1
}

// parseFlags parses flags that may appear before, between or after positional arguments, so
// that `cjsm admin person show jane@x --json` and `… --json jane@x` both work.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	// The flag package calls Usage itself on -h; silence it and print the help once here.
	usage := fs.Usage
	fs.Usage = func() {}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(os.Stdout)
				if synopsis, ok := verbSynopsis[fs.Name()]; ok {
					fmt.Fprintf(os.Stdout, "Usage: cjsm admin %s [flags] %s\n", fs.Name(), synopsis)
					flags := 0
					fs.VisitAll(func(*flag.Flag) { flags++ })
					if flags > 0 {
						fmt.Fprintf(os.Stdout, "\nFlags:\n")
						fs.PrintDefaults()
					}
				} else if usage != nil {
					usage()
				} else {
					fmt.Fprintf(os.Stdout, "Usage of %s:\n", fs.Name())
					fs.PrintDefaults()
				}
				return nil, flag.ErrHelp
			}
			return nil, usagef("%s: %v (run with --help for the options)", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func cmdConfig(args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "reference" {
		return usagef("use: cjsm config reference")
	}
	fmt.Fprint(stdout, configReference())
	return nil
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// parseNoArgs parses flags for a command that takes no positional arguments, and rejects any,
// so that a mistyped flag value is not silently ignored.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("%s takes no arguments, but got %q; give values with flags (run with --help)", fs.Name(), pos)
	}
	return nil
}
