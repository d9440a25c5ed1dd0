package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// open parses a command's flags and opens Gatehouse without serving.
func open(ctx context.Context, set *flag.FlagSet, c *common, args []string) (*gatehouse.Gatehouse, error) {
	if err := set.Parse(args); err != nil {
		return nil, err
	}
	if set.NArg() > 0 {
		set.Usage()
		return nil, fmt.Errorf("unexpected argument %q: %w", set.Arg(0), errUsage)
	}
	cfg, err := c.config(set)
	if err != nil {
		return nil, err
	}
	// A short-lived command must not start delivering messages it could
	// abandon half-sent when it exits; the server's worker sends them.
	cfg.NoDelivery = true
	return gatehouse.New(ctx, cfg)
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := common{secretOptional: true}
	set := newFlagSet("migrate", "migrate [flags]", stderr)
	c.register(set)
	if err := set.Parse(args); err != nil {
		return err
	}
	cfg, err := c.config(set)
	if err != nil {
		return err
	}
	if err := gatehouse.Migrate(ctx, cfg); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "database is up to date")
	return nil
}

const userUsage = `Usage: gatehouse user COMMAND [flags]

Commands:
  create --email EMAIL [--name NAME] [--verified] [--password-stdin] [--admin]
  list [--query TEXT] [--limit N] [--cursor ID]
  disable --email EMAIL | --id ID     (also revokes every session)
  enable --email EMAIL | --id ID
  delete --email EMAIL | --id ID
  admin --email EMAIL | --id ID [--off]
                                      grant the admin role (the /admin page),
                                      or take it away with --off
  roles --email EMAIL | --id ID [--set ROLE,ROLE]
                                      print the user's roles, or replace them
                                      (--set "" takes every role away)
`

func user(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(stderr, userUsage)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	var c common
	sub, args := args[0], args[1:]
	switch sub {
	case "create":
		set := newFlagSet("user create", "user create --email EMAIL [flags]", stderr)
		c.register(set)
		email := set.String("email", "", "the account's email (required)")
		name := set.String("name", "", "display name")
		verified := set.Bool("verified", false, "mark the email verified")
		pwStdin := set.Bool("password-stdin", false, "read a password from the first line of standard input (without it the account is passwordless)")
		admin := set.Bool("admin", false, "give the account the admin role (the /admin page)")
		g, err := open(ctx, set, &c, args)
		if err != nil {
			return err
		}
		defer g.Close()
		var pw string
		if *pwStdin {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("read password: %w", err)
			}
			pw = strings.TrimRight(line, "\r\n")
			if pw == "" {
				return errors.New("--password-stdin: standard input held no password")
			}
		}
		u, err := g.Auth().SignUp(ctx, auth.SignUpInput{Email: *email, Password: pw, Name: *name, EmailVerified: *verified})
		if err != nil {
			return describe(err)
		}
		if *admin {
			if _, err := g.Auth().AdminUpdateUser(ctx, u.ID, auth.AdminUpdate{Admin: admin}); err != nil {
				return fmt.Errorf("created user %s <%s> but could not make it an admin (run gatehouse user admin --id %s): %w", u.ID, u.Email, u.ID, describe(err))
			}
			fmt.Fprintf(stdout, "created user %s <%s> with the admin role\n", u.ID, u.Email)
			return nil
		}
		fmt.Fprintf(stdout, "created user %s <%s>\n", u.ID, u.Email)
		return nil
	case "admin":
		set := newFlagSet("user admin", "user admin --email EMAIL | --id ID [--off]", stderr)
		c.register(set)
		off := set.Bool("off", false, "take the admin role away instead of granting it")
		g, u, err := openUser(ctx, set, &c, args)
		if err != nil {
			return err
		}
		defer g.Close()
		grant := !*off
		if _, err := g.Auth().AdminUpdateUser(ctx, u.ID, auth.AdminUpdate{Admin: &grant}); err != nil {
			return describe(err)
		}
		if grant {
			fmt.Fprintf(stdout, "user %s <%s> is an admin\n", u.ID, u.Email)
		} else {
			fmt.Fprintf(stdout, "user %s <%s> is no longer an admin\n", u.ID, u.Email)
		}
		return nil
	case "roles":
		set := newFlagSet("user roles", "user roles --email EMAIL | --id ID [--set ROLE,ROLE]", stderr)
		c.register(set)
		roles := set.String("set", "", `replace the roles with this comma-separated list ("" for none); without it, print them`)
		g, u, err := openUser(ctx, set, &c, args)
		if err != nil {
			return err
		}
		defer g.Close()
		replace := false
		set.Visit(func(f *flag.Flag) { replace = replace || f.Name == "set" })
		if replace {
			if u, err = g.Auth().AdminSetRoles(ctx, u.ID, splitRoles(*roles), auth.Client{}); err != nil {
				return describe(err)
			}
		}
		list := strings.Join(u.Roles, ",")
		if list == "" {
			list = "(none)"
		}
		fmt.Fprintf(stdout, "user %s <%s> roles: %s\n", u.ID, u.Email, list)
		return nil
	case "list":
		set := newFlagSet("user list", "user list [flags]", stderr)
		c.register(set)
		query := set.String("query", "", "match email, phone or name")
		limit := set.Int("limit", 50, "at most this many (1–199)")
		cursor := set.String("cursor", "", "continue after this user ID")
		g, err := open(ctx, set, &c, args)
		if err != nil {
			return err
		}
		defer g.Close()
		users, next, err := g.Auth().AdminUsers(ctx, auth.UserQuery{Query: *query, After: *cursor, Limit: *limit})
		if err != nil {
			return describe(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tVERIFIED\tPASSWORD\tDISABLED\tADMIN\tCREATED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, yes(u.EmailVerified), yes(u.HasPassword()), yes(u.Disabled()), yes(u.Admin), u.CreatedAt.Format(time.RFC3339))
		}
		_ = tw.Flush()
		if next != "" {
			fmt.Fprintf(stdout, "more: gatehouse user list --cursor %s\n", next)
		}
		return nil
	case "disable", "enable", "delete":
		set := newFlagSet("user "+sub, "user "+sub+" --email EMAIL | --id ID", stderr)
		c.register(set)
		g, u, err := openUser(ctx, set, &c, args)
		if err != nil {
			return err
		}
		defer g.Close()
		switch sub {
		case "delete":
			err = g.Auth().AdminDeleteUser(ctx, u.ID)
		default:
			disabled := sub == "disable"
			_, err = g.Auth().AdminUpdateUser(ctx, u.ID, auth.AdminUpdate{Disabled: &disabled})
		}
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%sd user %s <%s>\n", sub, u.ID, u.Email) // disabled, enabled, deleted
		return nil
	}
	fmt.Fprint(stderr, userUsage)
	return fmt.Errorf("unknown user command %q: %w", sub, errUsage)
}

// splitRoles splits a comma-separated list of roles, ignoring spaces
// around names and empty names ("" is no role).
func splitRoles(s string) []string {
	var out []string
	for r := range strings.SplitSeq(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// openUser is open for a command about one user: it adds --email and --id
// to set and also returns the user they name.
func openUser(ctx context.Context, set *flag.FlagSet, c *common, args []string) (*gatehouse.Gatehouse, *auth.User, error) {
	email := set.String("email", "", "the user's email")
	id := set.String("id", "", "the user's ID")
	g, err := open(ctx, set, c, args)
	if err != nil {
		return nil, nil, err
	}
	u, err := find(ctx, g, *email, *id)
	if err != nil {
		g.Close()
		return nil, nil, err
	}
	return g, u, nil
}

func find(ctx context.Context, g *gatehouse.Gatehouse, email, id string) (*auth.User, error) {
	var u *auth.User
	var err error
	switch {
	case email != "" && id != "":
		return nil, errors.New("give --email or --id, not both")
	case email != "":
		u, err = g.Auth().AdminUserByEmail(ctx, email)
	case id != "":
		u, err = g.Auth().AdminUser(ctx, id)
	default:
		return nil, fmt.Errorf("--email or --id is required: %w", errUsage)
	}
	if err != nil {
		return nil, describe(err)
	}
	return u, nil
}

func sessions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "sessions revoke --email EMAIL | --id USER_ID"
	if len(args) == 0 || args[0] != "revoke" {
		fmt.Fprintf(stderr, "Usage: gatehouse %s\n\nRevokes every session and refresh token of the user.\n", synopsis)
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return flag.ErrHelp
		}
		return errUsage
	}
	var c common
	set := newFlagSet("sessions revoke", synopsis, stderr)
	c.register(set)
	g, u, err := openUser(ctx, set, &c, args[1:])
	if err != nil {
		return err
	}
	defer g.Close()
	if err := g.Auth().AdminRevokeSessions(ctx, u.ID); err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "revoked every session of %s <%s>\n", u.ID, u.Email)
	return nil
}

func keys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const help = `Usage: gatehouse keys COMMAND

Commands:
  rotate   add a signing key that signs from now on; old public keys stay in
           the JWKS until the tokens they signed have expired
  list     show every key: ID, created, retired, signing, published
`
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "list") {
		fmt.Fprint(stderr, help)
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return flag.ErrHelp
		}
		return errUsage
	}
	var c common
	set := newFlagSet("keys "+args[0], "keys "+args[0]+" [flags]", stderr)
	c.register(set)
	g, err := open(ctx, set, &c, args[1:])
	if err != nil {
		return err
	}
	defer g.Close()
	if args[0] == "rotate" {
		kid, err := g.Keys().Rotate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing key %s; running servers switch to it within a minute\n", kid)
		return nil
	}
	list, err := g.Keys().List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tCREATED\tRETIRED\tSIGNING\tIN JWKS")
	for _, k := range list {
		retired := "-"
		if k.RetiredAt != nil {
			retired = k.RetiredAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.CreatedAt.Format(time.RFC3339), retired, yes(k.Signing), yes(k.InJWKS))
	}
	return tw.Flush()
}

func version(args []string, stdout, stderr io.Writer) error {
	set := newFlagSet("version", "version", stderr)
	if err := set.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "gatehouse", gatehouse.Version)
	return nil
}

// describe turns a flow error into one line for a terminal.
func describe(err error) error {
	var ae *auth.Error
	if errors.As(err, &ae) && ae.Message != "" {
		msg := ae.Message
		for _, f := range ae.Fields {
			msg += fmt.Sprintf(" %s %s.", f.Field, f.Message)
		}
		return errors.New(msg)
	}
	return err
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
