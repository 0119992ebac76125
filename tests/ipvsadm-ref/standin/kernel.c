/*
 * An in-memory model of the IPVS control plane (the generic netlink
 * side of net/netfilter/ipvs/ip_vs_ctl.c, Linux 6.1 as in Debian 12),
 * for the differential test of rvsadm against ipvsadm 1.31.
 *
 * Written from the kernel's documented behaviour, not copied.  What it
 * reproduces, because ipvsadm's output depends on it:
 *  - the errno of every refusal: EEXIST (service or dest exists), ESRCH
 *    (no such service), ENOENT (no such dest; unknown scheduler or
 *    persistence engine), ERANGE (negative weight, lower threshold above
 *    upper), EINVAL (missing attributes, over-long names, real server not
 *    unicast, IPv6 prefix length outside 1..128, mixed families other
 *    than tunnelling, GUE without port, bad timeouts), ENODEV (sync
 *    daemon on an unknown interface);
 *  - service identity: (af, protocol, address, port), or (fwmark, af);
 *  - the dump order: the address table bucket by bucket (256 buckets,
 *    ip_vs_svc_hashkey), then the fwmark table, newest first inside a
 *    bucket; a service's real servers newest first;
 *  - flags, timeout and netmask as stored, the scheduler listed as
 *    "none" when none is bound, -E replacing the persistence engine.
 * Counters and rates are always zero.
 *
 * The table lives in the file named by $IPVS_STANDIN_STATE, so that it
 * persists from one ipvsadm process to the next.  Knobs (environment):
 *  IPVS_STANDIN_LOCAL      director addresses, "a/len,a/len,..." (v4/v6)
 *  IPVS_STANDIN_IFACES     interfaces for the sync daemon ("lo,eth0")
 *  IPVS_STANDIN_SCHEDULERS scheduler modules ("rr,wrr,...")
 *  IPVS_STANDIN_TAB_SIZE   connection table size reported (4096)
 *  IPVS_STANDIN_NETNS_HASH the (netns_ipvs pointer >> 8) term of the
 *                          service hash (0, as rvs assumes)
 *  IPVS_STANDIN_LOCALNODE  1: turn a real server that is a director
 *                          address into "Local", as kernels before 3.x
 *                          did (6.1 keeps the method asked for)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/ip_vs.h>
#include "standin.h"

#define HZ 250			/* CONFIG_HZ of Debian's kernels */
#define SVC_TAB_BITS 8
#define SVC_TAB_MASK ((1 << SVC_TAB_BITS) - 1)
#define MAX_SVCS 8192

#define DEFAULT_SCHEDULERS "rr,wrr,lc,wlc,lblc,lblcr,dh,sh,sed,nq,fo,ovf,mh"

struct dest {
	unsigned long seq;
	int af;
	union nf_inet_addr addr;
	uint16_t port;		/* network order */
	uint32_t fwd;
	int weight;
	uint32_t u_thresh, l_thresh;
	uint8_t tun_type;
	uint16_t tun_port;	/* network order */
	uint16_t tun_flags;
};

struct svc {
	unsigned long seq;
	int af;
	uint16_t protocol;
	uint32_t fwmark;
	union nf_inet_addr addr;
	uint16_t port;		/* network order */
	char sched[IP_VS_SCHEDNAME_MAXLEN];
	char pe[IP_VS_PENAME_MAXLEN];
	uint32_t flags;
	uint32_t timeout;
	uint32_t netmask;	/* as sent: network order for IPv4, plen for IPv6 */
	struct dest *dests;
	int ndests;
};

struct daemon {
	int running;
	char ifn[IP_VS_IFNAME_MAXLEN];
	uint32_t syncid;
	uint16_t maxlen, port;
	uint8_t ttl;
	int af;
	union nf_inet_addr group;
};

static struct {
	unsigned long next_seq;
	uint32_t tcp, tcp_fin, udp;
	struct daemon daemons[2];	/* master, backup */
	struct svc svcs[MAX_SVCS];
	int nsvcs;
} T;

/* ---------- persistence ---------- */

static const char *state_path(void)
{
	const char *p = getenv("IPVS_STANDIN_STATE");

	if (!p || !*p) {
		fprintf(stderr, "ipvs stand-in: IPVS_STANDIN_STATE is not set\n");
		exit(99);
	}
	return p;
}

static void hex_out(FILE *f, const void *p, int n)
{
	const unsigned char *b = p;
	int i;

	for (i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
}

static void hex_in(const char *s, void *p, int n)
{
	unsigned char *b = p;
	int i;
	unsigned int v;

	for (i = 0; i < n && sscanf(s + 2 * i, "%2x", &v) == 1; i++)
		b[i] = v;
}

static void load(void)
{
	FILE *f;
	char line[512], a[64], s1[32], s2[32];
	struct svc *cur = NULL;

	for (int i = 0; i < T.nsvcs; i++)
		free(T.svcs[i].dests);
	memset(&T, 0, sizeof(T));
	T.next_seq = 1;
	T.tcp = 900; T.tcp_fin = 120; T.udp = 300;
	f = fopen(state_path(), "r");
	if (!f)
		return;		/* no file yet: an empty table */
	while (fgets(line, sizeof(line), f)) {
		unsigned long seq;
		unsigned int af, proto, port, v1, v2, v3, v4, v5, v6, v7, v8;

		if (sscanf(line, "N %lu", &seq) == 1) {
			T.next_seq = seq;
		} else if (sscanf(line, "T %u %u %u", &v1, &v2, &v3) == 3) {
			T.tcp = v1; T.tcp_fin = v2; T.udp = v3;
		} else if (sscanf(line, "D %u %31s %u %u %u %u %u %63s", &v1, s1, &v2, &v3, &v4, &v5, &af, a) == 8 && v1 < 2) {
			struct daemon *d = &T.daemons[v1];

			d->running = 1;
			snprintf(d->ifn, sizeof(d->ifn), "%s", s1);
			d->syncid = v2; d->maxlen = v3; d->port = v4; d->ttl = v5; d->af = af;
			hex_in(a, &d->group, 16);
		} else if (sscanf(line, "S %lu %u %u %u %63s %u %31s %31s %u %u %u", &seq, &af, &proto, &v1, a, &port, s1, s2, &v2, &v3, &v4) == 11) {
			if (T.nsvcs >= MAX_SVCS)
				break;
			cur = &T.svcs[T.nsvcs++];
			memset(cur, 0, sizeof(*cur));
			cur->seq = seq; cur->af = af; cur->protocol = proto; cur->fwmark = v1;
			hex_in(a, &cur->addr, 16);
			cur->port = htons(port);
			snprintf(cur->sched, sizeof(cur->sched), "%s", s1);
			snprintf(cur->pe, sizeof(cur->pe), "%s", strcmp(s2, "-") ? s2 : "");
			cur->flags = v2; cur->timeout = v3; cur->netmask = v4;
		} else if (cur && sscanf(line, "R %lu %u %63s %u %u %u %u %u %u %u %u", &seq, &af, a, &port, &v1, &v2, &v3, &v4, &v5, &v6, &v7) == 11) {
			struct dest *d;

			cur->dests = realloc(cur->dests, sizeof(*d) * (cur->ndests + 1));
			d = &cur->dests[cur->ndests++];
			memset(d, 0, sizeof(*d));
			d->seq = seq; d->af = af;
			hex_in(a, &d->addr, 16);
			d->port = htons(port); d->fwd = v1; d->weight = (int)v2;
			d->u_thresh = v3; d->l_thresh = v4; d->tun_type = v5;
			d->tun_port = htons(v6); d->tun_flags = v7;
		}
		(void)v8;
	}
	fclose(f);
}

static int save(void)
{
	char tmp[4096];
	FILE *f;
	int i, j;

	snprintf(tmp, sizeof(tmp), "%s.tmp", state_path());
	f = fopen(tmp, "w");
	if (!f)
		return -EIO;
	fprintf(f, "N %lu\nT %u %u %u\n", T.next_seq, T.tcp, T.tcp_fin, T.udp);
	for (i = 0; i < 2; i++) {
		struct daemon *d = &T.daemons[i];

		if (!d->running)
			continue;
		fprintf(f, "D %d %s %u %u %u %u %d ", i, d->ifn, d->syncid, d->maxlen, d->port, d->ttl, d->af);
		hex_out(f, &d->group, 16);
		fputc('\n', f);
	}
	for (i = 0; i < T.nsvcs; i++) {
		struct svc *s = &T.svcs[i];

		fprintf(f, "S %lu %d %u %u ", s->seq, s->af, s->protocol, s->fwmark);
		hex_out(f, &s->addr, 16);
		fprintf(f, " %u %s %s %u %u %u\n", ntohs(s->port), s->sched, s->pe[0] ? s->pe : "-", s->flags, s->timeout, s->netmask);
		for (j = 0; j < s->ndests; j++) {
			struct dest *d = &s->dests[j];

			fprintf(f, "R %lu %d ", d->seq, d->af);
			hex_out(f, &d->addr, 16);
			fprintf(f, " %u %u %u %u %u %u %u %u\n", ntohs(d->port), d->fwd, (unsigned int)d->weight, d->u_thresh, d->l_thresh, d->tun_type, ntohs(d->tun_port), d->tun_flags);
		}
	}
	if (fclose(f) != 0 || rename(tmp, state_path()) != 0)
		return -EIO;
	return 0;
}

/* ---------- attribute parsing as the kernel's policies check it ---------- */

enum pol { P_NONE, P_U8, P_U16, P_U32, P_BIN16, P_FLAGS, P_NESTED, P_NUL15 };

/* Parse a nested attribute with a policy; -EINVAL as the kernel's
 * nla_parse_nested_deprecated would refuse it. */
static int kparse(struct nlattr **tb, int max, const struct nlattr *nla, const enum pol *pol)
{
	const struct nlattr *a = nla_data(nla);
	int rem = nla_len(nla);

	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (rem >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= rem) {
		int type = a->nla_type & NLA_TYPE_MASK, len = a->nla_len - NLA_HDRLEN;
		const char *d = nla_data(a);

		if (type > 0 && type <= max) {
			switch (pol[type]) {
			case P_U8: if (len < 1) return -ERANGE; break;
			case P_U16: if (len < 2) return -ERANGE; break;
			case P_U32: if (len < 4) return -ERANGE; break;
			case P_BIN16: if (len > 16) return -ERANGE; break;
			case P_FLAGS: if (len > (int)sizeof(struct ip_vs_flags)) return -ERANGE; break;
			case P_NUL15: {
				int n = len < 16 ? len : 16;

				if (!n || !memchr(d, '\0', n))
					return -EINVAL;
				break;
			}
			default: break;
			}
			tb[type] = (struct nlattr *)a;
		}
		rem -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return 0;
}

static const enum pol svc_pol[IPVS_SVC_ATTR_MAX + 1] = {
	[IPVS_SVC_ATTR_AF] = P_U16, [IPVS_SVC_ATTR_PROTOCOL] = P_U16,
	[IPVS_SVC_ATTR_ADDR] = P_BIN16, [IPVS_SVC_ATTR_PORT] = P_U16,
	[IPVS_SVC_ATTR_FWMARK] = P_U32, [IPVS_SVC_ATTR_SCHED_NAME] = P_NUL15,
	[IPVS_SVC_ATTR_PE_NAME] = P_NUL15, [IPVS_SVC_ATTR_FLAGS] = P_FLAGS,
	[IPVS_SVC_ATTR_TIMEOUT] = P_U32, [IPVS_SVC_ATTR_NETMASK] = P_U32,
	[IPVS_SVC_ATTR_STATS] = P_NESTED,
};
static const enum pol dest_pol[IPVS_DEST_ATTR_MAX + 1] = {
	[IPVS_DEST_ATTR_ADDR] = P_BIN16, [IPVS_DEST_ATTR_PORT] = P_U16,
	[IPVS_DEST_ATTR_FWD_METHOD] = P_U32, [IPVS_DEST_ATTR_WEIGHT] = P_U32,
	[IPVS_DEST_ATTR_U_THRESH] = P_U32, [IPVS_DEST_ATTR_L_THRESH] = P_U32,
	[IPVS_DEST_ATTR_ACTIVE_CONNS] = P_U32, [IPVS_DEST_ATTR_INACT_CONNS] = P_U32,
	[IPVS_DEST_ATTR_PERSIST_CONNS] = P_U32, [IPVS_DEST_ATTR_STATS] = P_NESTED,
	[IPVS_DEST_ATTR_ADDR_FAMILY] = P_U16, [IPVS_DEST_ATTR_TUN_TYPE] = P_U8,
	[IPVS_DEST_ATTR_TUN_PORT] = P_U16, [IPVS_DEST_ATTR_TUN_FLAGS] = P_U16,
};
static const enum pol daemon_pol[IPVS_DAEMON_ATTR_MAX + 1] = {
	[IPVS_DAEMON_ATTR_STATE] = P_U32, [IPVS_DAEMON_ATTR_MCAST_IFN] = P_NUL15,
	[IPVS_DAEMON_ATTR_SYNC_ID] = P_U32, [IPVS_DAEMON_ATTR_SYNC_MAXLEN] = P_U16,
	[IPVS_DAEMON_ATTR_MCAST_GROUP] = P_U32, [IPVS_DAEMON_ATTR_MCAST_GROUP6] = P_BIN16,
	[IPVS_DAEMON_ATTR_MCAST_PORT] = P_U16, [IPVS_DAEMON_ATTR_MCAST_TTL] = P_U8,
};

/* ---------- lookups ---------- */

static uint32_t netns_hash(void)
{
	const char *h = getenv("IPVS_STANDIN_NETNS_HASH");

	return h ? (uint32_t)strtoul(h, NULL, 0) : 0;
}

static int addr_eq(int af, const union nf_inet_addr *a, const union nf_inet_addr *b)
{
	return af == AF_INET6 ? !memcmp(&a->in6, &b->in6, 16) : a->ip == b->ip;
}

static unsigned int svc_bucket(const struct svc *s)
{
	uint32_t fold = s->addr.ip, h;
	unsigned int porth = ntohs(s->port);

	if (s->af == AF_INET6)
		fold = s->addr.ip6[0] ^ s->addr.ip6[1] ^ s->addr.ip6[2] ^ s->addr.ip6[3];
	h = ntohl(fold) ^ netns_hash();
	return (s->protocol ^ h ^ (porth >> SVC_TAB_BITS) ^ porth) & SVC_TAB_MASK;
}

static unsigned int fwm_bucket(const struct svc *s)
{
	return (netns_hash() ^ s->fwmark) & SVC_TAB_MASK;
}

static struct svc *find_svc(const struct svc *k)
{
	int i;

	for (i = 0; i < T.nsvcs; i++) {
		struct svc *s = &T.svcs[i];

		if (k->fwmark) {
			if (s->fwmark == k->fwmark && s->af == k->af)
				return s;
		} else if (!s->fwmark && s->af == k->af && s->protocol == k->protocol &&
			   s->port == k->port && addr_eq(k->af, &s->addr, &k->addr)) {
			return s;
		}
	}
	return NULL;
}

static struct dest *find_dest(struct svc *s, int af, const union nf_inet_addr *a, uint16_t port)
{
	int i;

	for (i = 0; i < s->ndests; i++)
		if (s->dests[i].af == af && addr_eq(af, &s->dests[i].addr, a) && s->dests[i].port == port)
			return &s->dests[i];
	return NULL;
}

static int mixed_family_dests(void)
{
	int i, j, n = 0;

	for (i = 0; i < T.nsvcs; i++)
		for (j = 0; j < T.svcs[i].ndests; j++)
			n += T.svcs[i].dests[j].af != T.svcs[i].af;
	return n;
}

static int in_list(const char *env, const char *def, const char *name)
{
	const char *l = getenv(env);
	char buf[1024], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", l ? l : def);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, name))
			return 1;
	return 0;
}

/* ---------- the director's addresses (inet_addr_type, ipv6 local) ---------- */

enum { RT_UNICAST, RT_LOCAL, RT_BROADCAST, RT_MULTICAST };

static int v4_type(uint32_t a /* host order */)
{
	const char *l = getenv("IPVS_STANDIN_LOCAL");
	char buf[1024], *tok, *save;

	if ((a & 0xff000000) == 0 || a == 0xffffffff)
		return RT_BROADCAST;
	if ((a & 0xf0000000) == 0xe0000000)
		return RT_MULTICAST;
	if ((a & 0xff000000) == 0x7f000000)	/* lo: 127/8 local, its broadcast */
		return a == 0x7fffffff ? RT_BROADCAST : RT_LOCAL;
	snprintf(buf, sizeof(buf), "%s", l ? l : "");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *slash = strchr(tok, '/');
		int plen = slash ? atoi(slash + 1) : 32;
		struct in_addr ia;
		uint32_t mask, x;

		if (slash)
			*slash = 0;
		if (inet_pton(AF_INET, tok, &ia) != 1)
			continue;
		x = ntohl(ia.s_addr);
		mask = plen ? 0xffffffffu << (32 - plen) : 0;
		if (a == x)
			return RT_LOCAL;
		if (plen < 31 && a == ((x & mask) | ~mask))
			return RT_BROADCAST;
	}
	return RT_UNICAST;
}

static int v6_local(const struct in6_addr *a)
{
	const char *l = getenv("IPVS_STANDIN_LOCAL");
	char buf[1024], *tok, *save;

	if (IN6_IS_ADDR_LOOPBACK(a))
		return 1;
	snprintf(buf, sizeof(buf), "%s", l ? l : "");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *slash = strchr(tok, '/');
		struct in6_addr x;

		if (slash)
			*slash = 0;
		if (inet_pton(AF_INET6, tok, &x) == 1 && !memcmp(&x, a, 16))
			return 1;
	}
	return 0;
}

/* ip_vs_new_dest's check: a real server must be unicast (or local). */
static int dest_addr_ok(int af, const union nf_inet_addr *a)
{
	if (af == AF_INET6) {
		const struct in6_addr *x = &a->in6;
		uint32_t w0 = ntohl(a->ip6[0]);
		int unicast = 1, linklocal = 0;

		if ((w0 & 0xff000000) == 0xff000000)
			unicast = 0;				/* multicast */
		else if ((w0 & 0xffc00000) == 0xfe800000)
			linklocal = 1;
		else if (!a->ip6[0] && !a->ip6[1]) {
			if (!a->ip6[2] && !a->ip6[3])
				unicast = 0;			/* :: */
			else if (a->ip6[2] == htonl(0xffff))
				unicast = 0;			/* v4-mapped */
		}
		if ((!unicast || linklocal) && !v6_local(x))
			return 0;
		return 1;
	}
	switch (v4_type(ntohl(a->ip))) {
	case RT_UNICAST: case RT_LOCAL: return 1;
	default: return 0;
	}
}

/* ---------- commands ---------- */

struct usvc {
	struct svc k;
	int full;
	const char *sched, *pe;
	uint32_t flags, timeout, netmask;
};

static int parse_svc(const struct nlattr *nla, int full, struct usvc *u, struct svc **found)
{
	struct nlattr *a[IPVS_SVC_ATTR_MAX + 1];

	memset(u, 0, sizeof(*u));
	if (!nla || kparse(a, IPVS_SVC_ATTR_MAX, nla, svc_pol))
		return -EINVAL;
	if (!(a[IPVS_SVC_ATTR_AF] && (a[IPVS_SVC_ATTR_FWMARK] ||
	      (a[IPVS_SVC_ATTR_PORT] && a[IPVS_SVC_ATTR_PROTOCOL] && a[IPVS_SVC_ATTR_ADDR]))))
		return -EINVAL;
	u->k.af = nla_get_u16(a[IPVS_SVC_ATTR_AF]);
	if (u->k.af != AF_INET && u->k.af != AF_INET6)
		return -EAFNOSUPPORT;
	if (a[IPVS_SVC_ATTR_FWMARK]) {
		u->k.protocol = IPPROTO_TCP;
		u->k.fwmark = nla_get_u32(a[IPVS_SVC_ATTR_FWMARK]);
	} else {
		u->k.protocol = nla_get_u16(a[IPVS_SVC_ATTR_PROTOCOL]);
		nla_memcpy(&u->k.addr, a[IPVS_SVC_ATTR_ADDR], sizeof(u->k.addr));
		u->k.port = nla_get_u16(a[IPVS_SVC_ATTR_PORT]);
	}
	*found = find_svc(&u->k);
	if (full) {
		struct ip_vs_flags fl = { 0, 0 };

		if (!(a[IPVS_SVC_ATTR_SCHED_NAME] && a[IPVS_SVC_ATTR_FLAGS] &&
		      a[IPVS_SVC_ATTR_TIMEOUT] && a[IPVS_SVC_ATTR_NETMASK]))
			return -EINVAL;
		nla_memcpy(&fl, a[IPVS_SVC_ATTR_FLAGS], sizeof(fl));
		u->flags = *found ? (*found)->flags : 0;
		u->flags = (u->flags & ~fl.mask) | (fl.flags & fl.mask);
		u->sched = nla_data(a[IPVS_SVC_ATTR_SCHED_NAME]);
		u->pe = a[IPVS_SVC_ATTR_PE_NAME] ? nla_data(a[IPVS_SVC_ATTR_PE_NAME]) : NULL;
		u->timeout = nla_get_u32(a[IPVS_SVC_ATTR_TIMEOUT]);
		u->netmask = nla_get_u32(a[IPVS_SVC_ATTR_NETMASK]);
		u->full = 1;
	}
	return 0;
}

static int parse_dest(const struct nlattr *nla, int full, struct dest *d)
{
	struct nlattr *a[IPVS_DEST_ATTR_MAX + 1];

	memset(d, 0, sizeof(*d));
	if (!nla || kparse(a, IPVS_DEST_ATTR_MAX, nla, dest_pol))
		return -EINVAL;
	if (!(a[IPVS_DEST_ATTR_ADDR] && a[IPVS_DEST_ATTR_PORT]))
		return -EINVAL;
	nla_memcpy(&d->addr, a[IPVS_DEST_ATTR_ADDR], sizeof(d->addr));
	d->port = nla_get_u16(a[IPVS_DEST_ATTR_PORT]);
	d->af = a[IPVS_DEST_ATTR_ADDR_FAMILY] ? nla_get_u16(a[IPVS_DEST_ATTR_ADDR_FAMILY]) : 0;
	if (full) {
		if (!(a[IPVS_DEST_ATTR_FWD_METHOD] && a[IPVS_DEST_ATTR_WEIGHT] &&
		      a[IPVS_DEST_ATTR_U_THRESH] && a[IPVS_DEST_ATTR_L_THRESH]))
			return -EINVAL;
		d->fwd = nla_get_u32(a[IPVS_DEST_ATTR_FWD_METHOD]) & IP_VS_CONN_F_FWD_MASK;
		d->weight = (int)nla_get_u32(a[IPVS_DEST_ATTR_WEIGHT]);
		d->u_thresh = nla_get_u32(a[IPVS_DEST_ATTR_U_THRESH]);
		d->l_thresh = nla_get_u32(a[IPVS_DEST_ATTR_L_THRESH]);
		if (a[IPVS_DEST_ATTR_TUN_TYPE])
			d->tun_type = nla_get_u8(a[IPVS_DEST_ATTR_TUN_TYPE]);
		if (a[IPVS_DEST_ATTR_TUN_PORT])
			d->tun_port = nla_get_u16(a[IPVS_DEST_ATTR_TUN_PORT]);
		if (a[IPVS_DEST_ATTR_TUN_FLAGS])
			d->tun_flags = nla_get_u16(a[IPVS_DEST_ATTR_TUN_FLAGS]);
	}
	return 0;
}

/* Scheduler and persistence engine lookup, IPv6 prefix check: the part
 * ip_vs_add_service and ip_vs_edit_service share, in their order. */
static int check_sched_pe(const struct usvc *u)
{
	if (strcmp(u->sched, "none") && !in_list("IPVS_STANDIN_SCHEDULERS", DEFAULT_SCHEDULERS, u->sched))
		return -ENOENT;
	if (u->pe && *u->pe && strcmp(u->pe, "sip"))
		return -ENOENT;
	if (u->k.af == AF_INET6 && (u->netmask < 1 || u->netmask > 128))
		return -EINVAL;
	return 0;
}

static void apply_svc(struct svc *s, const struct usvc *u)
{
	snprintf(s->sched, sizeof(s->sched), "%s", u->sched);
	snprintf(s->pe, sizeof(s->pe), "%s", u->pe ? u->pe : "");
	s->timeout = u->timeout;
	s->netmask = u->netmask;
}

static int add_svc(const struct usvc *u)
{
	struct svc *s;
	int r = check_sched_pe(u);

	if (r)
		return r;
	if (T.nsvcs >= MAX_SVCS)
		return -ENOMEM;
	s = &T.svcs[T.nsvcs++];
	*s = u->k;
	s->dests = NULL;
	s->ndests = 0;
	s->seq = T.next_seq++;
	apply_svc(s, u);
	s->flags = u->flags | IP_VS_SVC_F_HASHED;
	return 0;
}

static int edit_svc(struct svc *s, const struct usvc *u)
{
	int r = check_sched_pe(u);

	if (r)
		return r;
	apply_svc(s, u);
	s->flags = u->flags | IP_VS_SVC_F_HASHED;
	return 0;
}

static void del_svc(struct svc *s)
{
	int i = s - T.svcs;

	free(s->dests);
	memmove(&T.svcs[i], &T.svcs[i + 1], sizeof(*s) * (T.nsvcs - i - 1));
	T.nsvcs--;
}

static void old_localnode(struct dest *d)
{
	const char *k = getenv("IPVS_STANDIN_LOCALNODE");
	int local;

	if (!k || strcmp(k, "1"))
		return;
	local = d->af == AF_INET6 ? v6_local(&d->addr.in6) : v4_type(ntohl(d->addr.ip)) == RT_LOCAL;
	if (local)
		d->fwd = IP_VS_CONN_F_LOCALNODE;
}

static int dest_common_checks(const struct dest *d)
{
	if (d->weight < 0)
		return -ERANGE;
	if (d->l_thresh > d->u_thresh)
		return -ERANGE;
	if (d->tun_type == IP_VS_CONN_F_TUNNEL_TYPE_GUE && d->tun_port == 0)
		return -EINVAL;
	return 0;
}

static int add_dest(struct svc *s, const struct dest *u)
{
	int r = dest_common_checks(u);
	struct dest *d;

	if (r)
		return r;
	if (find_dest(s, u->af, &u->addr, u->port))
		return -EEXIST;
	if (!dest_addr_ok(u->af, &u->addr))
		return -EINVAL;
	s->dests = realloc(s->dests, sizeof(*d) * (s->ndests + 1));
	d = &s->dests[s->ndests++];
	*d = *u;
	d->seq = T.next_seq++;
	old_localnode(d);
	return 0;
}

static int edit_dest(struct svc *s, const struct dest *u)
{
	int r = dest_common_checks(u);
	struct dest *d;
	unsigned long seq;

	if (r)
		return r;
	d = find_dest(s, u->af, &u->addr, u->port);
	if (!d)
		return -ENOENT;
	seq = d->seq;
	*d = *u;
	d->seq = seq;
	old_localnode(d);
	return 0;
}

static int del_dest(struct svc *s, const struct dest *u)
{
	struct dest *d = find_dest(s, u->af, &u->addr, u->port);
	int i;

	if (!d)
		return -ENOENT;
	i = d - s->dests;
	memmove(&s->dests[i], &s->dests[i + 1], sizeof(*d) * (s->ndests - i - 1));
	s->ndests--;
	return 0;
}

static int set_config(struct nlattr **a)
{
	uint32_t tcp = T.tcp, fin = T.tcp_fin, udp = T.udp;
	int limit = INT_MAX / HZ;

	if (a[IPVS_CMD_ATTR_TIMEOUT_TCP])
		tcp = nla_get_u32(a[IPVS_CMD_ATTR_TIMEOUT_TCP]);
	if (a[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN])
		fin = nla_get_u32(a[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN]);
	if (a[IPVS_CMD_ATTR_TIMEOUT_UDP])
		udp = nla_get_u32(a[IPVS_CMD_ATTR_TIMEOUT_UDP]);
	/* struct ip_vs_timeout_user holds ints */
	if ((int)tcp < 0 || (int)tcp > limit || (int)fin < 0 || (int)fin > limit ||
	    (int)udp < 0 || (int)udp > limit)
		return -EINVAL;
	if (tcp)
		T.tcp = tcp;
	if (fin)
		T.tcp_fin = fin;
	if (udp)
		T.udp = udp;
	return 0;
}

static int new_daemon(struct nlattr *nla)
{
	struct nlattr *a[IPVS_DAEMON_ATTR_MAX + 1];
	struct daemon c;
	uint32_t state;
	int idx, hlen;

	if (!nla || kparse(a, IPVS_DAEMON_ATTR_MAX, nla, daemon_pol))
		return -EINVAL;
	if (!(a[IPVS_DAEMON_ATTR_STATE] && a[IPVS_DAEMON_ATTR_MCAST_IFN] && a[IPVS_DAEMON_ATTR_SYNC_ID]))
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	snprintf(c.ifn, sizeof(c.ifn), "%s", (char *)nla_data(a[IPVS_DAEMON_ATTR_MCAST_IFN]));
	c.syncid = nla_get_u32(a[IPVS_DAEMON_ATTR_SYNC_ID]);
	if (a[IPVS_DAEMON_ATTR_SYNC_MAXLEN])
		c.maxlen = nla_get_u16(a[IPVS_DAEMON_ATTR_SYNC_MAXLEN]);
	if (a[IPVS_DAEMON_ATTR_MCAST_GROUP]) {
		c.af = AF_INET;
		c.group.ip = nla_get_u32(a[IPVS_DAEMON_ATTR_MCAST_GROUP]);
		if ((ntohl(c.group.ip) & 0xf0000000) != 0xe0000000)
			return -EINVAL;
	} else if (a[IPVS_DAEMON_ATTR_MCAST_GROUP6]) {
		c.af = AF_INET6;
		nla_memcpy(&c.group, a[IPVS_DAEMON_ATTR_MCAST_GROUP6], 16);
		if ((ntohl(c.group.ip6[0]) & 0xff000000) != 0xff000000)
			return -EINVAL;
	}
	if (a[IPVS_DAEMON_ATTR_MCAST_PORT])
		c.port = nla_get_u16(a[IPVS_DAEMON_ATTR_MCAST_PORT]);
	if (a[IPVS_DAEMON_ATTR_MCAST_TTL])
		c.ttl = nla_get_u8(a[IPVS_DAEMON_ATTR_MCAST_TTL]);
	if (mixed_family_dests() > 0)
		return -EINVAL;
	state = nla_get_u32(a[IPVS_DAEMON_ATTR_STATE]);
	if (state != IP_VS_STATE_MASTER && state != IP_VS_STATE_BACKUP)
		return -EINVAL;
	idx = state == IP_VS_STATE_MASTER ? 0 : 1;
	if (T.daemons[idx].running)
		return -EEXIST;
	if (!in_list("IPVS_STANDIN_IFACES", "lo,eth0", c.ifn))
		return -ENODEV;
	/* Defaults, for an interface with an MTU of 1500. */
	if (!c.af) {
		c.af = AF_INET;
		c.group.ip = htonl(0xe0000051);		/* 224.0.0.81 */
	}
	if (!c.port)
		c.port = 8848;
	if (!c.ttl)
		c.ttl = 1;
	hlen = c.af == AF_INET6 ? 48 : 28;
	if (!c.maxlen || c.maxlen > 1500 - hlen)
		c.maxlen = 1500 - hlen;
	c.running = 1;
	T.daemons[idx] = c;
	return 0;
}

static int del_daemon(struct nlattr *nla)
{
	struct nlattr *a[IPVS_DAEMON_ATTR_MAX + 1];
	uint32_t state;
	int idx;

	if (!nla || kparse(a, IPVS_DAEMON_ATTR_MAX, nla, daemon_pol))
		return -EINVAL;
	if (!a[IPVS_DAEMON_ATTR_STATE])
		return -EINVAL;
	state = nla_get_u32(a[IPVS_DAEMON_ATTR_STATE]);
	if (state != IP_VS_STATE_MASTER && state != IP_VS_STATE_BACKUP)
		return -EINVAL;
	idx = state == IP_VS_STATE_MASTER ? 0 : 1;
	if (!T.daemons[idx].running)
		return -ESRCH;
	memset(&T.daemons[idx], 0, sizeof(T.daemons[idx]));
	return 0;
}

/* ---------- replies ---------- */

static void put_stats(struct nl_msg *m, int type, int wide)
{
	struct nlattr *n = nla_nest_start(m, type);
	int i;

	for (i = IPVS_STATS_ATTR_CONNS; i <= IPVS_STATS_ATTR_OUTBPS; i++) {
		if (wide || i == IPVS_STATS_ATTR_INBYTES || i == IPVS_STATS_ATTR_OUTBYTES)
			nla_put_u64(m, i, 0);
		else
			nla_put_u32(m, i, 0);
	}
	nla_nest_end(m, n);
}

static void fill_svc(struct nl_msg *m, const struct svc *s)
{
	struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_SERVICE);
	struct ip_vs_flags fl = { .flags = s->flags, .mask = ~0u };

	nla_put_u16(m, IPVS_SVC_ATTR_AF, s->af);
	if (s->fwmark) {
		nla_put_u32(m, IPVS_SVC_ATTR_FWMARK, s->fwmark);
	} else {
		nla_put_u16(m, IPVS_SVC_ATTR_PROTOCOL, s->protocol);
		nla_put(m, IPVS_SVC_ATTR_ADDR, sizeof(s->addr), &s->addr);
		nla_put_u16(m, IPVS_SVC_ATTR_PORT, s->port);
	}
	nla_put_string(m, IPVS_SVC_ATTR_SCHED_NAME, s->sched);
	if (s->pe[0])
		nla_put_string(m, IPVS_SVC_ATTR_PE_NAME, s->pe);
	nla_put(m, IPVS_SVC_ATTR_FLAGS, sizeof(fl), &fl);
	nla_put_u32(m, IPVS_SVC_ATTR_TIMEOUT, s->timeout);
	nla_put_u32(m, IPVS_SVC_ATTR_NETMASK, s->netmask);
	put_stats(m, IPVS_SVC_ATTR_STATS, 0);
	put_stats(m, IPVS_SVC_ATTR_STATS64, 1);
	nla_nest_end(m, n);
}

static void fill_dest(struct nl_msg *m, const struct dest *d)
{
	struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_DEST);

	nla_put(m, IPVS_DEST_ATTR_ADDR, sizeof(d->addr), &d->addr);
	nla_put_u16(m, IPVS_DEST_ATTR_PORT, d->port);
	nla_put_u32(m, IPVS_DEST_ATTR_FWD_METHOD, d->fwd & IP_VS_CONN_F_FWD_MASK);
	nla_put_u32(m, IPVS_DEST_ATTR_WEIGHT, (uint32_t)d->weight);
	nla_put_u8(m, IPVS_DEST_ATTR_TUN_TYPE, d->tun_type);
	nla_put_u16(m, IPVS_DEST_ATTR_TUN_PORT, d->tun_port);
	nla_put_u16(m, IPVS_DEST_ATTR_TUN_FLAGS, d->tun_flags);
	nla_put_u32(m, IPVS_DEST_ATTR_U_THRESH, d->u_thresh);
	nla_put_u32(m, IPVS_DEST_ATTR_L_THRESH, d->l_thresh);
	nla_put_u32(m, IPVS_DEST_ATTR_ACTIVE_CONNS, 0);
	nla_put_u32(m, IPVS_DEST_ATTR_INACT_CONNS, 0);
	nla_put_u32(m, IPVS_DEST_ATTR_PERSIST_CONNS, 0);
	nla_put_u16(m, IPVS_DEST_ATTR_ADDR_FAMILY, d->af);
	put_stats(m, IPVS_DEST_ATTR_STATS, 0);
	put_stats(m, IPVS_DEST_ATTR_STATS64, 1);
	nla_nest_end(m, n);
}

static int cmp_dump(const void *x, const void *y)
{
	const struct svc *a = *(const struct svc *const *)x, *b = *(const struct svc *const *)y;
	unsigned int ka = a->fwmark ? 256 + fwm_bucket(a) : svc_bucket(a);
	unsigned int kb = b->fwmark ? 256 + fwm_bucket(b) : svc_bucket(b);

	if (ka != kb)
		return ka < kb ? -1 : 1;
	return a->seq > b->seq ? -1 : a->seq < b->seq;	/* newest first */
}

static int cmp_dest_newest(const void *x, const void *y)
{
	const struct dest *a = *(const struct dest *const *)x, *b = *(const struct dest *const *)y;

	return a->seq > b->seq ? -1 : a->seq < b->seq;
}

#define PUSH(m) do { if (*n >= max) return -EMSGSIZE; out[(*n)++] = (m); } while (0)

int standin_kernel(const struct nlmsghdr *req, struct nl_msg **out, int max, int *n)
{
	const struct genlmsghdr *g = nlmsg_data(req);
	struct nlattr *a[IPVS_CMD_ATTR_MAX + 1];
	int cmd = g->cmd, dump = (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	struct usvc u;
	struct svc *svc = NULL;
	struct dest d;
	struct nl_msg *m;
	int r, i;

	*n = 0;
	if (req->nlmsg_type != STANDIN_FAMILY_ID)
		return -ENOENT;
	if (genlmsg_parse((struct nlmsghdr *)req, 0, a, IPVS_CMD_ATTR_MAX, NULL))
		return -EINVAL;
	load();

	switch (cmd) {
	case IPVS_CMD_GET_INFO:
		m = standin_reply(req, IPVS_CMD_SET_INFO, 0);
		nla_put_u32(m, IPVS_INFO_ATTR_VERSION, IP_VS_VERSION_CODE);
		nla_put_u32(m, IPVS_INFO_ATTR_CONN_TAB_SIZE,
			    getenv("IPVS_STANDIN_TAB_SIZE") ? atoi(getenv("IPVS_STANDIN_TAB_SIZE")) : 4096);
		PUSH(m);
		return 0;
	case IPVS_CMD_GET_CONFIG:
		m = standin_reply(req, IPVS_CMD_SET_CONFIG, 0);
		nla_put_u32(m, IPVS_CMD_ATTR_TIMEOUT_TCP, T.tcp);
		nla_put_u32(m, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, T.tcp_fin);
		nla_put_u32(m, IPVS_CMD_ATTR_TIMEOUT_UDP, T.udp);
		PUSH(m);
		return 0;
	case IPVS_CMD_GET_DAEMON:
		for (i = 0; i < 2; i++) {
			struct daemon *dm = &T.daemons[i];
			struct nlattr *nd;

			if (!dm->running)
				continue;
			m = standin_reply(req, IPVS_CMD_NEW_DAEMON, NLM_F_MULTI);
			nd = nla_nest_start(m, IPVS_CMD_ATTR_DAEMON);
			nla_put_u32(m, IPVS_DAEMON_ATTR_STATE, i ? IP_VS_STATE_BACKUP : IP_VS_STATE_MASTER);
			nla_put_string(m, IPVS_DAEMON_ATTR_MCAST_IFN, dm->ifn);
			nla_put_u32(m, IPVS_DAEMON_ATTR_SYNC_ID, dm->syncid);
			nla_put_u16(m, IPVS_DAEMON_ATTR_SYNC_MAXLEN, dm->maxlen);
			nla_put_u16(m, IPVS_DAEMON_ATTR_MCAST_PORT, dm->port);
			nla_put_u8(m, IPVS_DAEMON_ATTR_MCAST_TTL, dm->ttl);
			if (dm->af == AF_INET6)
				nla_put(m, IPVS_DAEMON_ATTR_MCAST_GROUP6, 16, &dm->group);
			else
				nla_put_u32(m, IPVS_DAEMON_ATTR_MCAST_GROUP, dm->group.ip);
			nla_nest_end(m, nd);
			PUSH(m);
		}
		return 0;
	case IPVS_CMD_GET_SERVICE:
		if (dump) {
			struct svc *order[MAX_SVCS];

			for (i = 0; i < T.nsvcs; i++)
				order[i] = &T.svcs[i];
			qsort(order, T.nsvcs, sizeof(order[0]), cmp_dump);
			for (i = 0; i < T.nsvcs; i++) {
				m = standin_reply(req, IPVS_CMD_NEW_SERVICE, NLM_F_MULTI);
				fill_svc(m, order[i]);
				PUSH(m);
			}
			return 0;
		}
		r = parse_svc(a[IPVS_CMD_ATTR_SERVICE], 0, &u, &svc);
		if (r)
			return r;
		if (!svc)
			return -ESRCH;
		m = standin_reply(req, IPVS_CMD_NEW_SERVICE, 0);
		fill_svc(m, svc);
		PUSH(m);
		return 0;
	case IPVS_CMD_GET_DEST: {
		struct dest **order;

		/* An unknown service dumps nothing, without an error. */
		if (!a[IPVS_CMD_ATTR_SERVICE] || parse_svc(a[IPVS_CMD_ATTR_SERVICE], 0, &u, &svc) || !svc)
			return 0;
		order = calloc(svc->ndests + 1, sizeof(*order));
		for (i = 0; i < svc->ndests; i++)
			order[i] = &svc->dests[i];
		qsort(order, svc->ndests, sizeof(order[0]), cmp_dest_newest);
		for (i = 0; i < svc->ndests; i++) {
			m = standin_reply(req, IPVS_CMD_NEW_DEST, NLM_F_MULTI);
			fill_dest(m, order[i]);
			if (*n >= max) {
				free(order);
				return -EMSGSIZE;
			}
			out[(*n)++] = m;
		}
		free(order);
		return 0;
	}
	case IPVS_CMD_FLUSH:
		for (i = 0; i < T.nsvcs; i++)
			free(T.svcs[i].dests);
		T.nsvcs = 0;
		return save();
	case IPVS_CMD_SET_CONFIG:
		r = set_config(a);
		return r ? r : save();
	case IPVS_CMD_NEW_DAEMON:
		r = new_daemon(a[IPVS_CMD_ATTR_DAEMON]);
		return r ? r : save();
	case IPVS_CMD_DEL_DAEMON:
		r = del_daemon(a[IPVS_CMD_ATTR_DAEMON]);
		return r ? r : save();
	case IPVS_CMD_ZERO:
		if (!a[IPVS_CMD_ATTR_SERVICE])
			return 0;
		break;
	case IPVS_CMD_NEW_SERVICE: case IPVS_CMD_SET_SERVICE: case IPVS_CMD_DEL_SERVICE:
	case IPVS_CMD_NEW_DEST: case IPVS_CMD_SET_DEST: case IPVS_CMD_DEL_DEST:
		break;
	default:
		return -EOPNOTSUPP;
	}

	/* ip_vs_genl_set_cmd for the service and dest commands. */
	r = parse_svc(a[IPVS_CMD_ATTR_SERVICE], cmd == IPVS_CMD_NEW_SERVICE || cmd == IPVS_CMD_SET_SERVICE, &u, &svc);
	if (r)
		return r;
	if (cmd != IPVS_CMD_NEW_SERVICE && !svc)
		return -ESRCH;
	if (cmd == IPVS_CMD_NEW_DEST || cmd == IPVS_CMD_SET_DEST || cmd == IPVS_CMD_DEL_DEST) {
		r = parse_dest(a[IPVS_CMD_ATTR_DEST], cmd != IPVS_CMD_DEL_DEST, &d);
		if (r)
			return r;
		if (d.af == 0)
			d.af = svc->af;
		if (d.af != AF_INET && d.af != AF_INET6)
			return -EAFNOSUPPORT;
		if (d.af != svc->af && cmd != IPVS_CMD_DEL_DEST) {
			if (T.daemons[0].running || T.daemons[1].running)
				return -EINVAL;
			if (d.fwd != IP_VS_CONN_F_TUNNEL)
				return -EINVAL;
		}
	}
	switch (cmd) {
	case IPVS_CMD_NEW_SERVICE: r = svc ? -EEXIST : add_svc(&u); break;
	case IPVS_CMD_SET_SERVICE: r = edit_svc(svc, &u); break;
	case IPVS_CMD_DEL_SERVICE: del_svc(svc); r = 0; break;
	case IPVS_CMD_NEW_DEST: r = add_dest(svc, &d); break;
	case IPVS_CMD_SET_DEST: r = edit_dest(svc, &d); break;
	case IPVS_CMD_DEL_DEST: r = del_dest(svc, &d); break;
	case IPVS_CMD_ZERO: r = 0; break;
	}
	if (r)
		return r;
	return cmd == IPVS_CMD_ZERO ? 0 : save();
}
