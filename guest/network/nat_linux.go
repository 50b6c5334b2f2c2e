package network

import (
	"fmt"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// TableName is the default nftables table (family ip) holding berth's rules
// (Options.Table).
const TableName = "berth"

// syncNAT replaces the table with one built from the current networks, in a
// single atomic batch; m.mu held. The forward chain, for each bridge B:
//
//	iifname B oifname B accept              (within a network)
//	iifname @bridges oifname @bridges drop  (isolation between networks)
//	iifname B drop; oifname B drop          (internal networks only)
//	ct state established,related accept
//	iifname @bridges accept                 (containers to the outside)
//	oifname @bridges drop                   (no new connections from outside)
//
// and postrouting masquerades each non-internal subnet leaving through any
// other interface. Chains have policy accept: the rest of the host's
// traffic is none of our business. Bridged traffic seen through
// br_netfilter matches the first rule, so it works with or without it.
func (m *Manager) syncNAT() error {
	c, err := nftables.New(nftables.WithNetNSFd(int(m.ns)))
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	t := &nftables.Table{Name: m.opts.Table, Family: nftables.TableFamilyIPv4}
	// add + delete + add: the delete never fails, and the whole batch
	// applies at once, so there is no moment without rules.
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	nets := m.sortedBridgeNetworks()
	// Interface names are strings in host byte order; without saying so in
	// the set's user data, nft reads them backwards and lists them as "".
	set := &nftables.Set{Table: t, Name: "bridges", KeyType: nftables.TypeIFName, KeyByteOrder: binaryutil.NativeEndian}
	var elems []nftables.SetElement
	for _, n := range nets {
		elems = append(elems, nftables.SetElement{Key: ifname(n.Bridge)})
	}
	if err := c.AddSet(set, elems); err != nil {
		return fmt.Errorf("nftables: bridges set: %w", err)
	}
	addForwardChain(c, t, set, nets)
	addNATChain(c, t, nets)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: write table %s: %w (the kernel needs nf_tables, nft_chain_nat, nft_masq and nft_ct)", m.opts.Table, err)
	}
	return nil
}

func (m *Manager) sortedBridgeNetworks() []*Network {
	var nets []*Network
	for _, n := range m.nets {
		if n.Driver == DriverBridge && n.Bridge != "" {
			nets = append(nets, n)
		}
	}
	slices.SortFunc(nets, func(a, b *Network) int { return a.Subnet.Addr().Compare(b.Subnet.Addr()) })
	return nets
}

func addForwardChain(c *nftables.Conn, t *nftables.Table, set *nftables.Set, nets []*Network) {
	accept := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	rule := func(comment string, parts ...[]expr.Any) {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: slices.Concat(parts...),
			UserData: userdata.AppendString(nil, userdata.TypeComment, comment)})
	}
	for _, n := range nets {
		rule("intra "+n.Name, matchIf(expr.MetaKeyIIFNAME, n.Bridge, expr.CmpOpEq),
			matchIf(expr.MetaKeyOIFNAME, n.Bridge, expr.CmpOpEq), verdict(expr.VerdictAccept))
	}
	rule("isolation", inSet(expr.MetaKeyIIFNAME, set), inSet(expr.MetaKeyOIFNAME, set), verdict(expr.VerdictDrop))
	for _, n := range nets {
		if n.Internal {
			rule("internal "+n.Name, matchIf(expr.MetaKeyIIFNAME, n.Bridge, expr.CmpOpEq), verdict(expr.VerdictDrop))
			rule("internal "+n.Name, matchIf(expr.MetaKeyOIFNAME, n.Bridge, expr.CmpOpEq), verdict(expr.VerdictDrop))
		}
	}
	rule("established", ctEstablished(), verdict(expr.VerdictAccept))
	rule("outbound", inSet(expr.MetaKeyIIFNAME, set), verdict(expr.VerdictAccept))
	rule("inbound", inSet(expr.MetaKeyOIFNAME, set), verdict(expr.VerdictDrop))
}

func addNATChain(c *nftables.Conn, t *nftables.Table, nets []*Network) {
	accept := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &accept})
	for _, n := range nets {
		if n.Internal || n.NoMasq {
			continue
		}
		exprs := slices.Concat(matchSaddr(n), matchIf(expr.MetaKeyOIFNAME, n.Bridge, expr.CmpOpNeq), []expr.Any{&expr.Masq{}})
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: exprs,
			UserData: userdata.AppendString(nil, userdata.TypeComment, "masquerade "+n.Name)})
	}
}

// ifname pads an interface name the way nftables compares them.
func ifname(name string) []byte {
	b := make([]byte, 16)
	copy(b, name)
	return b
}

func matchIf(key expr.MetaKey, name string, op expr.CmpOp) []expr.Any {
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: ifname(name)}}
}

func inSet(key expr.MetaKey, set *nftables.Set) []expr.Any {
	return []expr.Any{&expr.Meta{Key: key, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID}}
}

func matchSaddr(n *Network) []expr.Any {
	mask := ipNet(n.Subnet).Mask
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: n.Subnet.Addr().AsSlice()},
	}
}

func ctEstablished() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
			Xor:  binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}

func verdict(k expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: k}} }
