/* The CUnit runner: registers every suite, optionally keeps only the groups
 * named by --only (comma-separated suite-name prefixes), runs them verbosely
 * and prints CUnit's summary. Exit status is non-zero on any failure. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "simd/isa.h"
#include "testutil.h"

#include "suites.h"

static const tu_register_fn registrations[] = {
    register_core_suites,
    register_alias_suites,
    register_optim_kernel_suites,
    register_vec_kernel_suites,
    register_narrow_suites,
    register_wgrad_suites,
    register_act_xent_suites,
    register_optim_suites,
    register_optim_sparse_suites,
    register_embedding_suites,
    register_dense_suites,
    register_config_suites,
    register_loss_suites,
    register_inbatch_suites,
    register_metrics_suites,
    register_topk_suites,
    register_dataset_suites,
    register_synth_suites,
    register_world_intent_suites,
    register_batcher_suites,
    register_import_suites,
    register_model_suites,
    register_model_negatives_suites,
    register_features_suites,
    register_table_shard_suites,
    register_results_suites,
    register_stats_suites,
    register_report_suites,
    register_provenance_suites,
    register_plot_suites,
    register_evaluate_suites,
    register_checkpoint_suites,
    register_trainer_suites,
    register_curves_suites,
    register_robust_suites,
    register_robust_e2e_suites,
    register_chunk_pool_suites,
    register_h5_integrity_suites,
    register_h5_verify_suites,
    register_h5_damage_suites,
    register_child_run_suites,
    register_weighting_suites,
    register_bench_suites,
    register_cli_workflow_suites,
    register_export_suites,
    register_options_suites,
};

static int matches(const char *name, const char *only)
{
    char buf[1024];
    if (!only) return 1;
    snprintf(buf, sizeof buf, "%s", only);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
        if (!strncmp(name, tok, strlen(tok))) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--list")) list = 1;
        else {
            fprintf(stderr, "usage: dmmp_tests [--only PREFIX[,PREFIX...]] [--list]\n");
            return 2;
        }
    }
    if (isa_init() != DMMP_OK) {
        fprintf(stderr, "dmmp_tests: %s\n", dmmp_errmsg());
        return 2;
    }
    printf("dmmp tests: kernel ISA %s\n", isa_name(isa_active()));
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    for (size_t i = 0; i < sizeof registrations / sizeof registrations[0]; i++) {
        if (registrations[i]() != 0) {
            fprintf(stderr, "dmmp_tests: registering suites failed: %s\n", CU_get_error_msg());
            CU_cleanup_registry();
            return 1;
        }
    }
    int active = 0;
    for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext) {
        int on = matches(s->pName, only);
        CU_set_suite_active(s, on ? CU_TRUE : CU_FALSE);
        active += on;
        if (list && on) printf("%s\n", s->pName);
    }
    if (list) {
        CU_cleanup_registry();
        return 0;
    }
    if (active == 0) {
        fprintf(stderr, "dmmp_tests: --only %s matches no suite\n", only);
        CU_cleanup_registry();
        return 2;
    }
    CU_set_fail_on_inactive(CU_FALSE);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
