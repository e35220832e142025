/* dmmp env: what this build will run on. */
#include <hdf5.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "core/dist.h"
#include "cli/options.h"
#include "config.h"
#include "core/omp_wait.h"
#include "simd/isa.h"

int cmd_env(int argc, char **argv)
{
    static const cli_command cmd = {
        "env", "usage: dmmp env",
        "Prints the kernel ISA in use, the CPU's features, the oneDNN and HDF5\n"
        "versions, the OpenMP thread count (OMP_NUM_THREADS sets it) and the OpenMP\n"
        "wait policy in effect: a short spin (a GOMP_SPINCOUNT timed for about 100 us on\n"
        "this CPU), chosen by dmmp, unless\n"
        "OMP_WAIT_POLICY or GOMP_SPINCOUNT is set (active suits a dedicated machine,\n"
        "passive a crowded one).\n",
        NULL, NULL, 0, 0, 0, NULL};
    cli_list none;
    int rc = cli_parse(&cmd, argc, argv, &none);
    if (rc != CLI_PARSED) return rc;
    cli_list_free(&none);
    char brand[128], feats[512];
    const dnnl_version_t *dv = dnnl_version();
    unsigned h5maj = 0, h5min = 0, h5rel = 0;
    H5get_libversion(&h5maj, &h5min, &h5rel);
    isa_cpu_brand(brand, sizeof brand);
    isa_cpu_features(feats, sizeof feats);
    printf("dmmp %s\n", PACKAGE_VERSION);
    printf("cpu:            %s\n", brand);
    printf("cpu features:   %s\n", feats);
    printf("isa available:  ");
    for (int l = 0; l < ISA_COUNT; l++)
        if (isa_cpu_has((isa_level)l)) printf("%s ", isa_name((isa_level)l));
    printf("\n");
    printf("isa in use:     %s%s\n", isa_name(isa_active()),
           getenv("DMMP_ISA") && *getenv("DMMP_ISA") ? " (forced by DMMP_ISA)" : " (best available)");
    printf("oneDNN:         %d.%d.%d (cpu runtime %s)\n", dv->major, dv->minor, dv->patch,
           dv->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other");
    printf("HDF5:           %u.%u.%u\n", h5maj, h5min, h5rel);
    printf("OpenMP threads: %d (of %d processors)\n", omp_get_max_threads(), omp_get_num_procs());
    printf("processes:      %d%s\n", dist_size(),
           dist_built_with_mpi() ? (dist_size() > 1 ? " (MPI ranks of one job)" : " (built with MPI: run under mpirun for more)")
                                 : " (built without MPI)");
    char wait[160];
    omp_wait_describe(wait, sizeof wait);
    printf("OpenMP wait:    %s\n", wait);
    return 0;
}
