"""Files in and out: what an input is, told by its content (:mod:`fastrank.inputs.formats`), tables
read with pyarrow (:mod:`fastrank.inputs.tables`), TREC run and qrels files
(:mod:`fastrank.inputs.trec`), and outputs written atomically, never over an input
(:mod:`fastrank.inputs.outputs`)."""
