/* Stand-in for <netlink/genl/genl.h>: see ../netlink.h. */
#ifndef STANDIN_NETLINK_GENL_H
#define STANDIN_NETLINK_GENL_H
#include <netlink/netlink.h>

int genl_connect(struct nl_sock *sk);
void *genlmsg_put(struct nl_msg *msg, uint32_t port, uint32_t seq, int family,
		  int hdrlen, int flags, uint8_t cmd, uint8_t version);
int genlmsg_parse(struct nlmsghdr *nlh, int hdrlen, struct nlattr *tb[],
		  int maxtype, const struct nla_policy *policy);
#endif
