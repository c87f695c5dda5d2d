"""Report text: sections, normalisation, the finding labeller and the Chinese lexicon."""
