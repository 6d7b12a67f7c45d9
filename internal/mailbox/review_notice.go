package mailbox

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// RemindGroupReviews files a reminder for the owners of each group mailbox to confirm the
// members that were neither added nor confirmed within interval before now. The owners of a group mailbox are
// the active administrators (role org-admin) of its organisation. Each gets a notice in
// their INBOX that lists those members and how to confirm them. A group's owners get
// one reminder per interval at most, across every node that shares the store. It returns the number
// of notices filed. An interval of 0 or less turns the reminders off.
func (s *Service) RemindGroupReviews(ctx context.Context, interval time.Duration, from string,
	now time.Time) (int, error) {
	if interval <= 0 {
		return 0, nil
	}
	due := now.Add(-interval)
	rows, err := s.st.GroupMembershipReviews(ctx, 0, due)
	if err != nil {
		return 0, err
	}
	byGroup := map[int64][]store.GroupMembershipReview{}
	var order []int64
	for _, r := range rows {
		if _, ok := byGroup[r.GroupID]; !ok {
			order = append(order, r.GroupID)
		}
		byGroup[r.GroupID] = append(byGroup[r.GroupID], r)
	}
	filed := 0
	for _, groupID := range order {
		claimed, err := s.st.ClaimNotice(ctx, "group-review", fmt.Sprintf("group:%d", groupID),
			now, due)
		if err != nil {
			return filed, err
		}
		if !claimed {
			continue
		}
		n, err := s.remindGroup(ctx, groupID, byGroup[groupID], interval, from, now)
		filed += n
		if err != nil {
			return filed, err
		}
	}
	return filed, nil
}

func (s *Service) remindGroup(ctx context.Context, groupID int64,
	members []store.GroupMembershipReview, interval time.Duration, from string,
	now time.Time) (int, error) {
	g, err := s.st.GroupMailboxByID(ctx, groupID)
	if err != nil {
		return 0, err
	}
	owners, err := s.orgAdmins(ctx, g.OrgID)
	if err != nil {
		return 0, err
	}
	if len(owners) == 0 {
		s.log.Warn("group membership review is due but the organisation has no active "+
			"administrator to ask; give someone the org-admin role", "group", g.AddressKey,
			"org_id", g.OrgID, "members_due", len(members))
		return 0, nil
	}
	filed := 0
	for _, p := range owners {
		messageID := grantNoticeID(from)
		raw := reviewNotice(g, members, p.Address, interval, from, messageID, now)
		o := Owner{Kind: store.OwnerPerson, ID: p.ID}
		if err := s.fileNotice(ctx, o, raw, messageID, from, now); err != nil {
			return filed, fmt.Errorf("mailbox: file the review reminder of %s for %s: %w",
				g.AddressKey, p.AddressKey, err)
		}
		filed++
	}
	s.log.Info("group membership review reminder filed", "group", g.AddressKey,
		"members_due", len(members), "owners", filed)
	return filed, nil
}

// orgAdmins returns the active people of an organisation who hold the org-admin role.
func (s *Service) orgAdmins(ctx context.Context, orgID int64) ([]store.Person, error) {
	people, err := s.st.People(ctx, store.PersonFilter{OrgID: orgID, Limit: 100000})
	if err != nil {
		return nil, err
	}
	var out []store.Person
	for _, p := range people {
		if p.Status == store.StatusActive &&
			slices.Contains(strings.Fields(strings.ReplaceAll(p.Roles, ",", " ")), store.RoleOrgAdmin) {
			out = append(out, p)
		}
	}
	return out, nil
}

// reviewNotice builds the reminder as an RFC 5322 message with CRLF line ends.
func reviewNotice(g store.GroupMailbox, members []store.GroupMembershipReview, to string,
	interval time.Duration, from, messageID string, now time.Time) []byte {
	var b bytes.Buffer
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\r\n")
	}
	days := int(interval.Hours() / 24)
	line("From: CJSM service <%s>", from)
	line("To: <%s>", to)
	line("Subject: Please review the members of %s", g.Address)
	line("Date: %s", now.Format(time.RFC1123Z))
	line("Message-ID: %s", messageID)
	line("Auto-Submitted: auto-generated")
	line("MIME-Version: 1.0")
	line("Content-Type: text/plain; charset=utf-8")
	line("Content-Transfer-Encoding: 8bit")
	line("")
	line("These members of the group mailbox %s have not been confirmed in the", g.Address)
	line("last %d days. Please check that each still needs the permissions shown,", days)
	line("and remove anyone who does not: access to OFFICIAL mail should end when")
	line("someone changes role or leaves.")
	line("")
	for _, m := range members {
		last := "never confirmed"
		if t := m.LastReviewed(); !t.IsZero() {
			last = "last confirmed " + t.Format("2 January 2006")
		}
		line("  %s  %s  (%s)", m.PersonAddress, permissionList(m), last)
	}
	line("")
	line("To confirm a member, ask the service desk or an operator to run:")
	line("  cjsm admin group confirm %s MEMBER-ADDRESS", g.Address)
	line("To remove one:")
	line("  cjsm admin group member-remove %s MEMBER-ADDRESS", g.Address)
	return b.Bytes()
}

func permissionList(m store.GroupMembershipReview) string {
	var perms []string
	if m.Read {
		perms = append(perms, "read")
	}
	if m.Write {
		perms = append(perms, "write")
	}
	if m.Send {
		perms = append(perms, "send")
	}
	if len(perms) == 0 {
		return "no permissions"
	}
	return strings.Join(perms, ", ")
}
