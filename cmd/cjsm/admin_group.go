package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

func init() {
	register("group", "create", groupCreate)
	register("group", "list", groupList)
	register("group", "show", groupShow)
	register("group", "update", groupUpdate)
	register("group", "remove", groupRemove)
	register("group", "member-set", groupMemberSet)
	register("group", "member-remove", groupMemberRemove)
	register("group", "review", groupReview)
	register("group", "confirm", groupConfirm)
	register("group", "handling", groupHandling)
	register("list", "create", listCreate)
	register("list", "list", listList)
	register("list", "show", listShow)
	register("list", "update", listUpdate)
	register("list", "remove", listRemove)
	register("list", "member-add", listMemberAdd)
	register("list", "member-remove", listMemberRemove)
	register("list", "owner-add", listOwnerAdd)
	register("list", "owner-remove", listOwnerRemove)
}

func groupCreate(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("group create", flag.ContinueOnError)
	org := fs.String("org", "", "organisation slug; required")
	name := fs.String("name", "", "display name, such as \"Witness Care Unit\"; required")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	local, err := oneArg("group create", pos, "local part of the address, such as witness-care")
	if err != nil {
		return err
	}
	g, err := env.dir.CreateGroupMailbox(env.ctx, env.actor, *org, *name, local)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "created group mailbox %s (%s)\n", g.Address, g.Name)
	return nil
}

func groupList(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("group list", flag.ContinueOnError)
	org := fs.String("org", "", "list only this organisation's group mailboxes")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	var orgID int64
	if *org != "" {
		o, err := env.dir.Organisation(env.ctx, *org)
		if err != nil {
			return err
		}
		orgID = o.ID
	}
	groups, err := env.st.GroupMailboxes(env.ctx, orgID)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.stdout, groups)
	}
	var rows [][]string
	for _, g := range groups {
		members, _ := env.st.GroupMembers(env.ctx, g.ID)
		rows = append(rows, []string{g.Address, g.Name, fmt.Sprint(len(members))})
	}
	table(env.stdout, []string{"ADDRESS", "NAME", "MEMBERS"}, rows)
	return nil
}

func groupShow(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("group show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	addr, err := oneArg("group show", pos, "group mailbox address")
	if err != nil {
		return err
	}
	g, err := env.dir.GroupMailbox(env.ctx, addr)
	if err != nil {
		return err
	}
	members, err := env.st.GroupMembers(env.ctx, g.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.stdout, map[string]any{"group": g, "members": members})
	}
	fmt.Fprintf(env.stdout, "address: %s\nname:    %s\n\n", g.Address, g.Name)
	var rows [][]string
	for _, m := range members {
		var perms []string
		for _, p := range []struct {
			ok   bool
			name string
		}{{m.Read, "read"}, {m.Write, "write"}, {m.Send, "send"}} {
			if p.ok {
				perms = append(perms, p.name)
			}
		}
		rows = append(rows, []string{m.Address, strings.Join(perms, ",")})
	}
	table(env.stdout, []string{"MEMBER", "PERMISSIONS"}, rows)
	return nil
}

func groupUpdate(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("group update", flag.ContinueOnError)
	name := fs.String("name", "", "new display name; required")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	addr, err := oneArg("group update", pos, "group mailbox address")
	if err != nil {
		return err
	}
	g, err := env.dir.RenameGroupMailbox(env.ctx, env.actor, addr, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "updated group mailbox %s (%s)\n", g.Address, g.Name)
	return nil
}

func groupRemove(env *adminEnv, args []string) error {
	pos, err := parseFlags(flag.NewFlagSet("group remove", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	addr, err := oneArg("group remove", pos, "group mailbox address")
	if err != nil {
		return err
	}
	if err := env.dir.RemoveGroupMailbox(env.ctx, env.actor, addr); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "removed group mailbox %s\n", addr)
	return nil
}

func groupMemberSet(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("group member-set", flag.ContinueOnError)
	read := fs.Bool("read", false, "may see the group's mail")
	write := fs.Bool("write", false, "may file, move and delete the group's mail")
	send := fs.Bool("send", false, "may send as the group")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("group member-set: give GROUP-ADDRESS PERSON-ADDRESS and at least one of --read, --write, --send")
	}
	if err := env.dir.SetGroupMember(env.ctx, env.actor, pos[0], pos[1], *read, *write, *send); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s on %s: read=%t write=%t send=%t\n", pos[1], pos[0], *read, *write, *send)
	return nil
}

func groupMemberRemove(env *adminEnv, args []string) error {
	pos, err := parseFlags(flag.NewFlagSet("group member-remove", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("group member-remove: give GROUP-ADDRESS PERSON-ADDRESS")
	}
	if err := env.dir.RemoveGroupMember(env.ctx, env.actor, pos[0], pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "removed %s from %s\n", pos[1], pos[0])
	return nil
}

func groupReview(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("group review", flag.ContinueOnError)
	overdue := fs.String("overdue", "", "list only memberships neither added nor confirmed "+
		"within this time, in days (90d) or hours (36h)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("group review: give at most one group mailbox address (got %d); "+
			"without one, every group mailbox is listed", len(pos))
	}

	var group string
	if len(pos) == 1 {
		group = pos[0]
	}
	var span time.Duration
	if *overdue != "" {
		if span, err = parseSpan(*overdue); err != nil {
			return usagef("group review: --overdue %v", err)
		}
	}
	rows, err := env.dir.ReviewGroupMembers(env.ctx, group, span)
	if err != nil {
		return err
	}

	if *asJSON {
		return printJSON(env.stdout, rows)
	}
	var out [][]string
	for _, m := range rows {
		added, confirmed := "unknown", "never"
		if !m.AddedAt.IsZero() {
			added = m.AddedAt.Format(time.DateOnly)
		}
		if !m.ConfirmedAt.IsZero() {
			confirmed = m.ConfirmedAt.Format(time.DateOnly) + " by " + m.ConfirmedBy
		}
		out = append(out, []string{m.GroupAddress, m.PersonAddress,
			permissionNames(m.Read, m.Write, m.Send), added, confirmed})
	}
	table(env.stdout, []string{"GROUP", "MEMBER", "PERMISSIONS", "ADDED", "LAST CONFIRMED"},
		out)
	return nil
}

func groupConfirm(env *adminEnv, args []string) error {
	pos, err := parseFlags(flag.NewFlagSet("group confirm", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("group confirm: give GROUP-ADDRESS PERSON-ADDRESS")
	}
	if err := env.dir.ConfirmGroupMember(env.ctx, env.actor, pos[0], pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "confirmed %s on %s\n", pos[1], pos[0])
	return nil
}

func groupHandling(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("group handling", flag.ContinueOnError)
	since := fs.String("since", "", "list only actions within this time before now, in days "+
		"(7d) or hours (36h); default: all")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	addr, err := oneArg("group handling", pos, "group mailbox address")
	if err != nil {
		return err
	}
	var from time.Time
	if *since != "" {
		span, err := parseSpan(*since)
		if err != nil {
			return usagef("group handling: --since %v", err)
		}
		from = time.Now().Add(-span)
	}
	g, err := env.dir.GroupMailbox(env.ctx, addr)
	if err != nil {
		return err
	}
	rows, err := env.st.GroupHandlings(env.ctx, store.GroupHandlingFilter{GroupID: g.ID,
		Since: from, Limit: 100000})
	if err != nil {
		return err
	}

	if *asJSON {
		return printJSON(env.stdout, rows)
	}
	var out [][]string
	for _, h := range rows {
		where := h.Folder
		if h.Detail != "" {
			where += " -> " + h.Detail
		}
		out = append(out, []string{h.At.Local().Format("2006-01-02 15:04"), h.PersonAddress,
			h.Action, where, h.HeaderID})
	}
	table(env.stdout, []string{"TIME", "MEMBER", "ACTION", "FOLDER", "MESSAGE-ID"}, out)
	return nil
}

func permissionNames(read, write, send bool) string {
	var perms []string
	for _, p := range []struct {
		ok   bool
		name string
	}{{read, "read"}, {write, "write"}, {send, "send"}} {
		if p.ok {
			perms = append(perms, p.name)
		}
	}
	return strings.Join(perms, ",")
}

func listCreate(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("list create", flag.ContinueOnError)
	org := fs.String("org", "", "organisation slug; required")
	name := fs.String("name", "", "display name; required")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	local, err := oneArg("list create", pos, "local part of the address, such as youth-court")
	if err != nil {
		return err
	}
	l, err := env.dir.CreateList(env.ctx, env.actor, *org, *name, local)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "created distribution list %s (%s)\n", l.Address, l.Name)
	return nil
}

func listList(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("list list", flag.ContinueOnError)
	org := fs.String("org", "", "list only this organisation's distribution lists")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	var orgID int64
	if *org != "" {
		o, err := env.dir.Organisation(env.ctx, *org)
		if err != nil {
			return err
		}
		orgID = o.ID
	}
	lists, err := env.st.Lists(env.ctx, orgID)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.stdout, lists)
	}
	var rows [][]string
	for _, l := range lists {
		members, _ := env.st.ListMembers(env.ctx, l.ID)
		rows = append(rows, []string{l.Address, l.Name, fmt.Sprint(len(members))})
	}
	table(env.stdout, []string{"ADDRESS", "NAME", "MEMBERS"}, rows)
	return nil
}

func listShow(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("list show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	addr, err := oneArg("list show", pos, "list address")
	if err != nil {
		return err
	}
	l, err := env.dir.List(env.ctx, addr)
	if err != nil {
		return err
	}
	members, err := env.st.ListMembers(env.ctx, l.ID)
	if err != nil {
		return err
	}
	owners, err := env.st.ListOwners(env.ctx, l.ID)
	if err != nil {
		return err
	}
	moderated, err := env.st.ListModerated(env.ctx, l.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.stdout, map[string]any{"list": l, "members": members,
			"owners": owners, "moderated": moderated})
	}
	fmt.Fprintf(env.stdout, "address:   %s\nname:      %s\nmoderated: %t\nowners:\n",
		l.Address, l.Name, moderated)
	for _, o := range owners {
		fmt.Fprintf(env.stdout, "  %s\n", o.Address)
	}
	fmt.Fprintf(env.stdout, "members:\n")
	for _, m := range members {
		fmt.Fprintf(env.stdout, "  %s\n", m)
	}
	return nil
}

func listUpdate(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("list update", flag.ContinueOnError)
	var name, moderated stringFlag
	fs.Var(&name, "name", "new display name")
	fs.Var(&moderated, "moderated", "true: mail from anyone but an owner goes to the owners; "+
		"false: all mail goes to the members")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	addr, err := oneArg("list update", pos, "list address")
	if err != nil {
		return err
	}

	if !name.set && !moderated.set {
		return usagef("list update: give --name, --moderated or both")
	}
	var mod bool
	if moderated.set {
		if mod, err = strconv.ParseBool(moderated.value); err != nil {
			return usagef("list update: --moderated %q is not true or false", moderated.value)
		}
	}

	if name.set {
		l, err := env.dir.RenameList(env.ctx, env.actor, addr, name.value)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "updated distribution list %s (%s)\n", l.Address, l.Name)
	}
	if moderated.set {
		if err := env.dir.SetListModerated(env.ctx, env.actor, addr, mod); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "distribution list %s: moderated=%t\n", addr, mod)
	}
	return nil
}

func listRemove(env *adminEnv, args []string) error {
	pos, err := parseFlags(flag.NewFlagSet("list remove", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	addr, err := oneArg("list remove", pos, "list address")
	if err != nil {
		return err
	}
	if err := env.dir.RemoveList(env.ctx, env.actor, addr); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "removed distribution list %s\n", addr)
	return nil
}

func listMemberAdd(env *adminEnv, args []string) error {
	pos, err := parseFlags(flag.NewFlagSet("list member-add", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("list member-add: give LIST-ADDRESS and one or more member addresses")
	}
	for _, m := range pos[1:] {
		if err := env.dir.AddListMember(env.ctx, env.actor, pos[0], m); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "added %s to %s\n", m, pos[0])
	}
	return nil
}

func listMemberRemove(env *adminEnv, args []string) error {
	pos, err := parseFlags(flag.NewFlagSet("list member-remove", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("list member-remove: give LIST-ADDRESS MEMBER-ADDRESS")
	}
	if err := env.dir.RemoveListMember(env.ctx, env.actor, pos[0], pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "removed %s from %s\n", pos[1], pos[0])
	return nil
}

func listOwnerAdd(env *adminEnv, args []string) error {
	pos, err := parseFlags(flag.NewFlagSet("list owner-add", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("list owner-add: give LIST-ADDRESS PERSON-ADDRESS")
	}
	if err := env.dir.AddListOwner(env.ctx, env.actor, pos[0], pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s now owns %s\n", pos[1], pos[0])
	return nil
}

func listOwnerRemove(env *adminEnv, args []string) error {
	pos, err := parseFlags(flag.NewFlagSet("list owner-remove", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("list owner-remove: give LIST-ADDRESS PERSON-ADDRESS")
	}
	if err := env.dir.RemoveListOwner(env.ctx, env.actor, pos[0], pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s no longer owns %s\n", pos[1], pos[0])
	return nil
}
