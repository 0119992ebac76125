/*
 * ipvsadm -c reads /proc/net/ip_vs_conn.  The model has no connections,
 * so that file is the kernel's header line alone.  Linked with
 * -Wl,--wrap=fopen so that ipvsadm's source stays unmodified.
 */
#include <stdio.h>
#include <string.h>

FILE *__real_fopen(const char *path, const char *mode);

static const char conn_header[] =
	"Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n";

FILE *__wrap_fopen(const char *path, const char *mode)
{
	if (strcmp(path, "/proc/net/ip_vs_conn") == 0)
		return fmemopen((void *)conn_header, sizeof(conn_header) - 1, "r");
	return __real_fopen(path, mode);
}
