"""Storage: one repository per feature; all SQL of the package lives under this folder."""
