// n8n loads the nodes and the credential through the "n8n" section of package.json; nothing is exported here.
module.exports = {};
