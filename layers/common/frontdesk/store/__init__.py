"""PynamoDB models of the single table and the repositories over them. Items never leave this package."""
