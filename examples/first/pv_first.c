/* pv_first: a first program (the API docs' main page shows it). A machine in this process,
 * one 64-bit domain, and two page-table updates of its guest: one validated, one refused. */
#include <stdio.h>

#include <pvcore/pvcore.h>
#include <pvcore/host_backend.h>

int main(void)
{
    static _Alignas(64) unsigned char mem[64 * 1024]; /* the domain, in our memory */
    struct pvcore_domain_config cfg = { .domid = 1, .nr_vcpus = 1, .max_pages = 16 };
    struct pvcore_host_backend *hb;
    struct pvcore_domain *d;
    struct pvcore_mmuext_req pin = { PVCORE_MMUEXT_PIN_L1_TABLE, 0, 1, 0 };
    pvcore_mmu_update_t map = { (1u << 12) | PVCORE_MMU_NORMAL_PT_UPDATE, (2u << 12) | 0x7 };
    int rc;

    if (pvcore_domain_size(1) > sizeof(mem) || pvcore_host_backend_create(64, 2, 0, 0, &hb) != 0 ||
        pvcore_domain_create(pvcore_host_backend_machine(hb), mem, sizeof(mem), &cfg, &d) != 0 ||
        pvcore_domain_assign(d, pvcore_mfn(1), pvcore_gfn(1)) != 0 ||  /* its page table */
        pvcore_domain_assign(d, pvcore_mfn(2), pvcore_gfn(2)) != 0) {  /* a page of data */
        return 1;
    }
    rc = pvcore_mmuext_op(pvcore_domain_vcpu(d, 0), &pin, 1, NULL, PVCORE_DOMID_SELF);
    printf("pin frame 1 as an L1 table: %s\n", pvcore_strerror(rc));
    rc = pvcore_mmu_update(pvcore_domain_vcpu(d, 0), &map, 1, NULL, PVCORE_DOMID_SELF);
    printf("map frame 2 writable through it: %s\n", pvcore_strerror(rc));
    map.val = (1u << 12) | 0x7; /* the table itself, writable: a guest never gets that */
    rc = pvcore_mmu_update(pvcore_domain_vcpu(d, 0), &map, 1, NULL, PVCORE_DOMID_SELF);
    printf("map frame 1 writable through itself: %s\n", pvcore_strerror(rc));
    while (pvcore_domain_destroy(d) == -PVCORE_ERESTART) {
    }
    pvcore_host_backend_destroy(hb);
    return rc == -PVCORE_EBUSY ? 0 : 1;
}
