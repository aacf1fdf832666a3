"""The Consignment deployer: deploy one descriptor version and say truthfully if it came up."""
