/*
 * A userspace stand-in for the part of libnl-3 / libnl-genl-3 that
 * libipvs (ipvsadm 1.31) uses.  Written from libnl's documented API for
 * the differential test in tests/ipvsadm-ref: messages are built and
 * parsed in the real netlink wire format, but instead of a kernel
 * socket they go to an in-memory IPVS model (kernel.c).
 */
#ifndef STANDIN_NETLINK_H
#define STANDIN_NETLINK_H

#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>

#define NL_AUTO_PORT 0
#define NL_AUTO_SEQ 0

/* Callback return values. */
enum { NL_OK = 0, NL_SKIP = 1, NL_STOP = 2 };

enum nl_cb_kind { NL_CB_DEFAULT, NL_CB_VERBOSE, NL_CB_DEBUG, NL_CB_CUSTOM };
enum nl_cb_type {
	NL_CB_VALID, NL_CB_FINISH, NL_CB_OVERRUN, NL_CB_SKIPPED, NL_CB_ACK,
	NL_CB_MSG_IN, NL_CB_MSG_OUT, NL_CB_INVALID, NL_CB_SEQ_CHECK,
	NL_CB_SEND_ACK, NL_CB_DUMP_INTR
};

/* Attribute types of a parse policy (libnl's numbering). */
enum {
	NLA_UNSPEC, NLA_U8, NLA_U16, NLA_U32, NLA_U64, NLA_STRING, NLA_FLAG,
	NLA_MSECS, NLA_NESTED
};

struct nla_policy {
	uint16_t type;
	uint16_t minlen;
	uint16_t maxlen;
};

struct nl_msg;
struct nl_sock;

typedef int (*nl_recvmsg_msg_cb_t)(struct nl_msg *msg, void *arg);
typedef int (*nl_recvmsg_err_cb_t)(struct sockaddr_nl *nla,
				   struct nlmsgerr *nlerr, void *arg);

/* Messages */
struct nl_msg *nlmsg_alloc(void);
void nlmsg_free(struct nl_msg *msg);
struct nlmsghdr *nlmsg_hdr(struct nl_msg *msg);
void *nlmsg_data(const struct nlmsghdr *nlh);
int nlmsg_datalen(const struct nlmsghdr *nlh);

/* Attributes */
int nla_put(struct nl_msg *msg, int attrtype, int datalen, const void *data);
int nla_put_u8(struct nl_msg *msg, int attrtype, uint8_t value);
int nla_put_u16(struct nl_msg *msg, int attrtype, uint16_t value);
int nla_put_u32(struct nl_msg *msg, int attrtype, uint32_t value);
int nla_put_u64(struct nl_msg *msg, int attrtype, uint64_t value);
int nla_put_string(struct nl_msg *msg, int attrtype, const char *str);
struct nlattr *nla_nest_start(struct nl_msg *msg, int attrtype);
int nla_nest_end(struct nl_msg *msg, struct nlattr *start);
void *nla_data(const struct nlattr *nla);
int nla_len(const struct nlattr *nla);
int nla_type(const struct nlattr *nla);
uint8_t nla_get_u8(const struct nlattr *nla);
uint16_t nla_get_u16(const struct nlattr *nla);
uint32_t nla_get_u32(const struct nlattr *nla);
uint64_t nla_get_u64(const struct nlattr *nla);
char *nla_get_string(const struct nlattr *nla);
int nla_memcpy(void *dest, const struct nlattr *src, int count);
int nla_parse(struct nlattr *tb[], int maxtype, struct nlattr *head, int len,
	      const struct nla_policy *policy);
int nla_parse_nested(struct nlattr *tb[], int maxtype, struct nlattr *nla,
		     const struct nla_policy *policy);

#define NLA_PUT(msg, attrtype, attrlen, data) \
	do { if (nla_put(msg, attrtype, attrlen, data) < 0) goto nla_put_failure; } while (0)
#define NLA_PUT_U8(msg, t, v) \
	do { if (nla_put_u8(msg, t, v) < 0) goto nla_put_failure; } while (0)
#define NLA_PUT_U16(msg, t, v) \
	do { if (nla_put_u16(msg, t, v) < 0) goto nla_put_failure; } while (0)
#define NLA_PUT_U32(msg, t, v) \
	do { if (nla_put_u32(msg, t, v) < 0) goto nla_put_failure; } while (0)
#define NLA_PUT_U64(msg, t, v) \
	do { if (nla_put_u64(msg, t, v) < 0) goto nla_put_failure; } while (0)
#define NLA_PUT_STRING(msg, t, v) \
	do { if (nla_put_string(msg, t, v) < 0) goto nla_put_failure; } while (0)

/* Sockets */
struct nl_sock *nl_socket_alloc(void);
void nl_socket_free(struct nl_sock *sk);
int nl_socket_modify_cb(struct nl_sock *sk, enum nl_cb_type type,
			enum nl_cb_kind kind, nl_recvmsg_msg_cb_t func,
			void *arg);
int nl_socket_modify_err_cb(struct nl_sock *sk, enum nl_cb_kind kind,
			    nl_recvmsg_err_cb_t func, void *arg);
int nl_send_auto_complete(struct nl_sock *sk, struct nl_msg *msg);
int nl_recvmsgs_default(struct nl_sock *sk);
int nl_syserr2nlerr(int error);

#endif
