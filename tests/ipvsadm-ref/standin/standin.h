/* Glue between the libnl stand-in (nl.c) and the IPVS model (kernel.c). */
#ifndef STANDIN_H
#define STANDIN_H
#include <netlink/netlink.h>

#define STANDIN_FAMILY_ID 0x20
#define IPVS_GENL_NAME_STANDIN "IPVS"
#define STANDIN_MAX_REPLIES 4096

/* libnl's error numbers (positive), the ones used here. */
enum {
	NLE_SUCCESS, NLE_FAILURE, NLE_INTR, NLE_BAD_SOCK, NLE_AGAIN, NLE_NOMEM,
	NLE_EXIST, NLE_INVAL, NLE_RANGE, NLE_MSGSIZE, NLE_OPNOTSUPP,
	NLE_AF_NOSUPPORT, NLE_OBJ_NOTFOUND, NLE_NOATTR, NLE_MISSING_ATTR,
	NLE_AF_MISMATCH, NLE_SEQ_MISMATCH, NLE_MSG_OVERFLOW, NLE_MSG_TRUNC,
	NLE_NOADDR, NLE_SRCRT_NOSUPPORT, NLE_MSG_TOOSHORT, NLE_MSGTYPE_NOSUPPORT,
	NLE_OBJ_MISMATCH, NLE_NOCACHE, NLE_BUSY, NLE_PROTO_MISMATCH, NLE_NOACCESS,
	NLE_PERM
};

/* Execute one request; fill `out` with replies.  0 or a negative errno. */
int standin_kernel(const struct nlmsghdr *req, struct nl_msg **out, int max_out, int *n_out);
/* A new reply message to `req` with genl command `cmd`. */
struct nl_msg *standin_reply(const struct nlmsghdr *req, int cmd, int flags);
#endif
