/* tests/h5_old_format SRC DST: writes DST as the framework wrote SRC before
 * checksums (tests/old_format.h), for tests/bitflip.sh. */
#include <stdio.h>

#include "old_format.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: h5_old_format SRC.h5 DST.h5\n");
        return 2;
    }
    return old_format_copy(argv[1], argv[2]) == 0 ? 0 : 1;
}
