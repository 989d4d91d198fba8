"""The codelist declarations GA DBC-GGZ 9.0 needs for the NZa's GGZ lists of 2019 (shared by tests).

A module of its own, so that the directory and workbook tests read the real
lists through one table; the GA DBC-GGZ 9.0 plugin declares the same in its
`Standard.codelists`. CL_D5_DIAGNOSE_GGZ and CL_DIAGNOSE_CONVERSIE_GGZ are
not named by the GA; they are here so that every list of the package loads.
"""
from __future__ import annotations

from disval.core.codelists import CodelistSpec

# GA DBC-GGZ 9.0 codelist name -> the NZa list file and its columns. The tariff lists name their
# columns after other lists (cl_productgroep_code, cl_dbc_tarief_*), so key and dates are declared.
GGZ_2019_SPECS = {s.name: s for s in (
    CodelistSpec("CL_ACTIVITEIT_GGZ", "activiteit"),
    CodelistSpec("CL_ACTIVITEIT_TARIEF_GGZ", "activiteit tarief ggz", key=("activiteit_code", "declaratiecode"),
                 begin="activiteit_tarief_begindatum", end="activiteit_tarief_einddatum"),
    CodelistSpec("CL_BEROEP_GGZ", "beroep"),
    CodelistSpec("CL_CIRCUIT_GGZ", "circuit"),
    CodelistSpec("CL_DIAGNOSE_GGZ", "diagnose"),
    CodelistSpec("CL_D5_DIAGNOSE_GGZ", "d5 diagnose"),
    CodelistSpec("CL_DIAGNOSE_CONVERSIE_GGZ", "diagnose conversie", key=("d5_diagnose_code", "diagnose_code")),
    CodelistSpec("CL_HOOFDBEROEPEN_GGZ", "hoofdberoepen"),
    CodelistSpec("CL_REDENSLUITEN_GGZ", "redensluiten"),
    CodelistSpec("CL_TARIEF_GGZ", "tarief ggz", key=("productgroep_code", "declaratiecode"),
                 begin="dbc_tarief_begindatum", end="dbc_tarief_einddatum"),
    CodelistSpec("CL_ZORGTYPE_GGZ", "zorgtype"),
)}
