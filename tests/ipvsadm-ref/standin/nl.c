/*
 * The libnl subset libipvs calls (see include/netlink/netlink.h), over
 * an in-memory "kernel" (kernel.c) instead of a netlink socket.
 *
 * Messages use the real netlink layout (nlmsghdr, genlmsghdr, aligned
 * nlattrs) so that libipvs' own message building and parsing run
 * unchanged.  A message is one fixed buffer: libipvs keeps pointers to
 * open nests while it appends, so the buffer must never move.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/genl/ctrl.h>
#include "standin.h"

#define MSG_CAP 65536

struct nl_msg {
	struct nlmsghdr *nlh;
};

struct nl_sock {
	nl_recvmsg_msg_cb_t valid_cb;
	void *valid_arg;
	nl_recvmsg_err_cb_t err_cb;
	void *err_arg;
	struct nl_msg *replies[STANDIN_MAX_REPLIES];
	int nreplies;
	int error;		/* 0 or a negative errno from the model */
	struct nlmsghdr *request;
	int sent;
};

struct nl_msg *nlmsg_alloc(void)
{
	struct nl_msg *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->nlh = calloc(1, MSG_CAP);
	if (!m->nlh) {
		free(m);
		return NULL;
	}
	m->nlh->nlmsg_len = NLMSG_HDRLEN;
	return m;
}

void nlmsg_free(struct nl_msg *msg)
{
	if (!msg)
		return;
	free(msg->nlh);
	free(msg);
}

struct nlmsghdr *nlmsg_hdr(struct nl_msg *msg)
{
	return msg->nlh;
}

void *nlmsg_data(const struct nlmsghdr *nlh)
{
	return (char *)nlh + NLMSG_HDRLEN;
}

int nlmsg_datalen(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_len - NLMSG_HDRLEN;
}

/* Append `len` bytes (padded to 4) at the tail; NULL when full. */
static void *msg_reserve(struct nl_msg *msg, int len)
{
	unsigned int tail = NLMSG_ALIGN(msg->nlh->nlmsg_len);
	unsigned int need = tail + NLA_ALIGN(len);
	char *p;

	if (len < 0 || need > MSG_CAP)
		return NULL;
	p = (char *)msg->nlh + tail;
	memset(p, 0, need - tail);
	msg->nlh->nlmsg_len = need;
	return p;
}

int nla_put(struct nl_msg *msg, int attrtype, int datalen, const void *data)
{
	struct nlattr *nla = msg_reserve(msg, NLA_HDRLEN + datalen);

	if (!nla)
		return -1;
	nla->nla_type = attrtype;
	nla->nla_len = NLA_HDRLEN + datalen;
	if (datalen)
		memcpy((char *)nla + NLA_HDRLEN, data, datalen);
	return 0;
}

int nla_put_u8(struct nl_msg *msg, int t, uint8_t v) { return nla_put(msg, t, 1, &v); }
int nla_put_u16(struct nl_msg *msg, int t, uint16_t v) { return nla_put(msg, t, 2, &v); }
int nla_put_u32(struct nl_msg *msg, int t, uint32_t v) { return nla_put(msg, t, 4, &v); }
int nla_put_u64(struct nl_msg *msg, int t, uint64_t v) { return nla_put(msg, t, 8, &v); }

int nla_put_string(struct nl_msg *msg, int t, const char *s)
{
	return nla_put(msg, t, strlen(s) + 1, s);
}

struct nlattr *nla_nest_start(struct nl_msg *msg, int attrtype)
{
	struct nlattr *start = (struct nlattr *)((char *)msg->nlh + NLMSG_ALIGN(msg->nlh->nlmsg_len));

	if (nla_put(msg, attrtype | NLA_F_NESTED, 0, NULL) < 0)
		return NULL;
	return start;
}

int nla_nest_end(struct nl_msg *msg, struct nlattr *start)
{
	start->nla_len = (char *)msg->nlh + msg->nlh->nlmsg_len - (char *)start;
	return 0;
}

void *nla_data(const struct nlattr *nla) { return (char *)nla + NLA_HDRLEN; }
int nla_len(const struct nlattr *nla) { return nla->nla_len - NLA_HDRLEN; }
int nla_type(const struct nlattr *nla) { return nla->nla_type & NLA_TYPE_MASK; }

/* Getters copy as many bytes as the attribute has (at most the width). */
static uint64_t nla_get_n(const struct nlattr *nla, int width)
{
	uint64_t v = 0;
	int n = nla_len(nla) < width ? nla_len(nla) : width;

	memcpy(&v, nla_data(nla), n);
	return v;
}

uint8_t nla_get_u8(const struct nlattr *nla) { return nla_get_n(nla, 1); }
uint16_t nla_get_u16(const struct nlattr *nla) { return nla_get_n(nla, 2); }
uint32_t nla_get_u32(const struct nlattr *nla) { return nla_get_n(nla, 4); }
uint64_t nla_get_u64(const struct nlattr *nla) { return nla_get_n(nla, 8); }
char *nla_get_string(const struct nlattr *nla) { return nla_data(nla); }

int nla_memcpy(void *dest, const struct nlattr *src, int count)
{
	int n;

	if (!src)
		return 0;
	n = nla_len(src) < count ? nla_len(src) : count;
	memcpy(dest, nla_data(src), n);
	return n;
}

/* The minimum payload of a policy type, as libnl checks it. */
static int policy_minlen(const struct nla_policy *p)
{
	if (p->minlen)
		return p->minlen;
	switch (p->type) {
	case NLA_U8: return 1;
	case NLA_U16: return 2;
	case NLA_U32: return 4;
	case NLA_U64: case NLA_MSECS: return 8;
	default: return 0;
	}
}

int nla_parse(struct nlattr *tb[], int maxtype, struct nlattr *head, int len,
	      const struct nla_policy *policy)
{
	struct nlattr *nla = head;
	int rem = len;

	memset(tb, 0, sizeof(struct nlattr *) * (maxtype + 1));
	while (rem >= (int)NLA_HDRLEN && nla->nla_len >= NLA_HDRLEN && nla->nla_len <= rem) {
		int type = nla_type(nla);

		if (type > 0 && type <= maxtype) {
			if (policy) {
				const struct nla_policy *p = &policy[type];

				if (nla_len(nla) < policy_minlen(p))
					return -NLE_RANGE;
				if (p->maxlen && p->type != NLA_STRING && nla_len(nla) > p->maxlen)
					return -NLE_RANGE;
			}
			tb[type] = nla;
		}
		rem -= NLA_ALIGN(nla->nla_len);
		nla = (struct nlattr *)((char *)nla + NLA_ALIGN(nla->nla_len));
	}
	return 0;
}

int nla_parse_nested(struct nlattr *tb[], int maxtype, struct nlattr *nla,
		     const struct nla_policy *policy)
{
	return nla_parse(tb, maxtype, nla_data(nla), nla_len(nla), policy);
}

int genl_connect(struct nl_sock *sk)
{
	(void)sk;
	return 0;
}

int genl_ctrl_resolve(struct nl_sock *sk, const char *name)
{
	(void)sk;
	if (strcmp(name, IPVS_GENL_NAME_STANDIN) == 0)
		return STANDIN_FAMILY_ID;
	return -NLE_OBJ_NOTFOUND;
}

void *genlmsg_put(struct nl_msg *msg, uint32_t port, uint32_t seq, int family,
		  int hdrlen, int flags, uint8_t cmd, uint8_t version)
{
	struct genlmsghdr *g;

	msg->nlh->nlmsg_type = family;
	msg->nlh->nlmsg_flags = flags;
	msg->nlh->nlmsg_pid = port;
	msg->nlh->nlmsg_seq = seq;
	g = msg_reserve(msg, GENL_HDRLEN + hdrlen);
	if (!g)
		return NULL;
	g->cmd = cmd;
	g->version = version;
	return (char *)g + GENL_HDRLEN;
}

int genlmsg_parse(struct nlmsghdr *nlh, int hdrlen, struct nlattr *tb[],
		  int maxtype, const struct nla_policy *policy)
{
	int off = GENL_HDRLEN + NLMSG_ALIGN(hdrlen);
	struct nlattr *head = (struct nlattr *)((char *)nlmsg_data(nlh) + off);

	return nla_parse(tb, maxtype, head, nlmsg_datalen(nlh) - off, policy);
}

struct nl_sock *nl_socket_alloc(void)
{
	return calloc(1, sizeof(struct nl_sock));
}

static void drop_replies(struct nl_sock *sk)
{
	int i;

	for (i = 0; i < sk->nreplies; i++)
		nlmsg_free(sk->replies[i]);
	sk->nreplies = 0;
}

void nl_socket_free(struct nl_sock *sk)
{
	if (!sk)
		return;
	drop_replies(sk);
	free(sk->request);
	free(sk);
}

int nl_socket_modify_cb(struct nl_sock *sk, enum nl_cb_type type,
			enum nl_cb_kind kind, nl_recvmsg_msg_cb_t func, void *arg)
{
	(void)kind;
	if (type != NL_CB_VALID)
		return -NLE_RANGE;
	sk->valid_cb = func;
	sk->valid_arg = arg;
	return 0;
}

int nl_socket_modify_err_cb(struct nl_sock *sk, enum nl_cb_kind kind,
			    nl_recvmsg_err_cb_t func, void *arg)
{
	(void)kind;
	sk->err_cb = func;
	sk->err_arg = arg;
	return 0;
}

/* "Send": the model executes the request at once and queues replies. */
int nl_send_auto_complete(struct nl_sock *sk, struct nl_msg *msg)
{
	struct nlmsghdr *nlh = msg->nlh;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	drop_replies(sk);
	free(sk->request);
	sk->request = malloc(nlh->nlmsg_len);
	if (!sk->request)
		return -NLE_NOMEM;
	memcpy(sk->request, nlh, nlh->nlmsg_len);
	sk->error = standin_kernel(nlh, sk->replies, STANDIN_MAX_REPLIES, &sk->nreplies);
	sk->sent = 1;
	return nlh->nlmsg_len;
}

/* Hand queued replies to the valid callback; an error goes to the error
 * callback as the kernel's NLMSG_ERROR would. */
int nl_recvmsgs_default(struct nl_sock *sk)
{
	int i, r;

	if (!sk->sent)
		return -NLE_FAILURE;
	sk->sent = 0;
	if (sk->error) {
		struct nlmsgerr e;
		struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

		memset(&e, 0, sizeof(e));
		e.error = sk->error;
		e.msg = *sk->request;
		if (sk->err_cb) {
			r = sk->err_cb(&sa, &e, sk->err_arg);
			if (r < 0)
				return r;
			if (r == NL_STOP)
				return 0;
		}
		return -nl_syserr2nlerr(sk->error);
	}
	for (i = 0; i < sk->nreplies; i++) {
		if (!sk->valid_cb)
			continue;
		r = sk->valid_cb(sk->replies[i], sk->valid_arg);
		if (r == NL_SKIP)
			continue;
		if (r == NL_STOP)
			break;
		if (r != NL_OK)
			return r < 0 ? r : -r;
	}
	return 0;
}

int nl_syserr2nlerr(int error)
{
	error = error < 0 ? -error : error;
	switch (error) {
	case ENOMEM: return NLE_NOMEM;
	case EINVAL: return NLE_INVAL;
	case ENOENT: return NLE_OBJ_NOTFOUND;
	case EEXIST: return NLE_EXIST;
	case ERANGE: return NLE_RANGE;
	case EAFNOSUPPORT: return NLE_AF_NOSUPPORT;
	case EPERM: return NLE_PERM;
	default: return NLE_FAILURE;
	}
}

/* Reply construction for the model. */
struct nl_msg *standin_reply(const struct nlmsghdr *req, int cmd, int flags)
{
	struct nl_msg *m = nlmsg_alloc();

	if (!m)
		return NULL;
	if (!genlmsg_put(m, req->nlmsg_pid, req->nlmsg_seq, STANDIN_FAMILY_ID, 0,
			 flags, cmd, 1)) {
		nlmsg_free(m);
		return NULL;
	}
	return m;
}
