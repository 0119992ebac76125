/* Stand-in for <netlink/genl/ctrl.h>: see ../netlink.h. */
#ifndef STANDIN_NETLINK_GENL_CTRL_H
#define STANDIN_NETLINK_GENL_CTRL_H
#include <netlink/genl/genl.h>

int genl_ctrl_resolve(struct nl_sock *sk, const char *name);
#endif
